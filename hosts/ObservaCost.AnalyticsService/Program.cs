using ObservaCost.Analytics.Service;

return await AnalyticsApplication.RunAsync(args, Console.Error);
