using ObservaCost.SingleMachine;

return await SingleMachineApplication.RunAsync(args, Console.Error);
