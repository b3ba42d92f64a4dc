using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Diagnosers;
using BenchmarkDotNet.Jobs;
using BenchmarkDotNet.Running;
using BenchmarkDotNet.Toolchains.InProcess.Emit;
using ObservaCost.Benchmarks;

// Usage:
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- encode
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- request-logs
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- v2-write   (the project's writer and InfluxDB.Client side by side)
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- otlp-parse   (the hand-written OTLP reader and Google.Protobuf side by side)
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- influx-write [points] [rounds]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- scrape [gpus] [scrapes]   (needs Debian's prometheus)
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- collector-push [points] [rounds]   (build the solution in Release first)
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- cost-window [gpus,gpus,...] [rounds]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- ingest-memory [body MiB]   (build the collector in Release first)
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- timeseries
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- poison [batches] [rounds]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- web [history, e.g. 2d] [rounds]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- global-training TRAIN.csv TEST.csv [series] [trees]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- global-m4 TRAIN.csv TEST.csv [--no-mase-weights] [--origins N] [--trees N] [--series N] [--smape-share S]
//   dotnet run -c Release --project tests/ObservaCost.Benchmarks -- evaluate nab --data DIR [--files GLOB] | evaluate m4 --train FILE --test FILE
string command = args.Length > 0 ? args[0] : "encode";
switch (command)
{
    case "encode":
        IConfig config = DefaultConfig.Instance
            .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
            .AddDiagnoser(MemoryDiagnoser.Default)
            .WithOptions(ConfigOptions.DisableOptimizationsValidator);
        BenchmarkRunner.Run<LineProtocolEncodingBenchmarks>(config, args.Skip(1).ToArray());
        return 0;
    case "v2-write":
        // Short runs (3 iterations), in process: the two write paths side by side on a shared 2-core machine.
        BenchmarkRunner.Run<V2WriteBenchmarks>(
            DefaultConfig.Instance
                .AddJob(Job.ShortRun.WithToolchain(InProcessEmitToolchain.Instance))
                .AddDiagnoser(MemoryDiagnoser.Default)
                .WithOptions(ConfigOptions.DisableOptimizationsValidator),
            args.Skip(1).ToArray());
        return 0;
    case "otlp-parse":
        BenchmarkRunner.Run<OtlpParseBenchmarks>(InProcessConfig(), args.Skip(1).ToArray());
        return 0;
    case "timeseries":
        BenchmarkRunner.Run<TimeSeriesBenchmarks>(InProcessConfig(), args.Skip(1).ToArray());
        return 0;
    case "evaluate":
        return await ObservaCost.Analytics.TimeSeries.Evaluation.EvaluationCommand.RunAsync(args.Skip(1).ToArray(), Console.Out, CancellationToken.None);
    case "global-training":
        return GlobalModelHarness.RunTraining(args[1], args[2], args.Length > 3 ? int.Parse(args[3], System.Globalization.CultureInfo.InvariantCulture) : 1_000, args.Length > 4 ? int.Parse(args[4], System.Globalization.CultureInfo.InvariantCulture) : 300);
    case "global-m4":
        return GlobalModelHarness.RunM4(args[1], args[2], args[3..]);
    case "request-logs":
        BenchmarkRunner.Run<RequestLogBenchmarks>(InProcessConfig(), args.Skip(1).ToArray());
        return 0;
    case "influx-write":
        int points = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 500_000;
        int rounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        return await InfluxWriteHarness.RunAsync(points, rounds);
    case "collector-push":
        int pushPoints = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 300_000;
        int pushRounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        return await CollectorPushHarness.RunAsync(pushPoints, pushRounds);
    case "scrape":
        int scrapeGpus = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 1_700;
        int scrapeCount = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 15;
        return await ScrapeHarness.RunAsync(scrapeGpus, scrapeCount);
    case "cost-window":
        int[] fleetSizes = (args.Length > 1 ? args[1] : "1000,2500,5000,10000")
            .Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            .Select(s => int.Parse(s, System.Globalization.CultureInfo.InvariantCulture))
            .ToArray();
        int windowRounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 5;
        return await CostWindowHarness.RunAsync(fleetSizes, windowRounds);
    case "poison":
        int poisonBatches = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 40;
        int poisonRounds = args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 3;
        return await PoisonIsolationHarness.RunAsync(poisonBatches, poisonRounds);
    case "web":
        return await WebPageHarness.RunAsync(args.Length > 1 ? args[1] : "2d", args.Length > 2 ? int.Parse(args[2], System.Globalization.CultureInfo.InvariantCulture) : 20);
    case "ingest-memory":
        return await IngestMemoryHarness.RunAsync(args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 30);
    default:
        Console.Error.WriteLine($"Unknown benchmark '{command}': use encode, request-logs, influx-write, collector-push, scrape, cost-window, ingest-memory, timeseries, poison, web, global-training, global-m4 or evaluate.");
        return 2;
}

static IConfig InProcessConfig() => DefaultConfig.Instance
    .AddJob(Job.Default.WithToolchain(InProcessEmitToolchain.Instance))
    .AddDiagnoser(MemoryDiagnoser.Default)
    .WithOptions(ConfigOptions.DisableOptimizationsValidator);
