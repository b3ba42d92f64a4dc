using ObservaCost.NodeCollector;

return await NodeCollectorApplication.RunAsync(args, Console.Error);
