using ObservaCost.Collector;

if (args is [RequestLogImportCommand.Verb, ..])
{
    return await RequestLogImportCommand.RunAsync(args[1..], Console.Out, Console.Error);
}

await using WebApplication app = CollectorApplication.Build(args);
await app.RunAsync();
return 0;
