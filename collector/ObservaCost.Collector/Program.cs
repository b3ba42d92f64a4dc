using ObservaCost.Collector;

await using WebApplication app = CollectorApplication.Build(args);
await app.RunAsync();
