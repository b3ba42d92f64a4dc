using System.Reflection;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using ObservaCost.Analytics.Service;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Deployment.Tests.Support;
using ObservaCost.NodeCollector;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Chart;

/// <summary>
/// Every configuration key the chart sets (environment variables <c>Section__Key</c>) exists in the hosts' options:
/// each key, with its rendered value, is bound to the options type of its section with
/// <see cref="BinderOptions.ErrorOnUnknownConfiguration"/>, so a misspelt key or a value of the wrong type fails.
/// </summary>
public sealed partial class ConfigurationKeyTests
{
    /// <summary>Environment variables the chart sets that are not options: the listen address (ASP.NET Core's own key) and the downward-API and NVIDIA runtime variables.</summary>
    private static readonly string[] NotOptions = ["Urls", "HOST_IP", "NODE_NAME", "NVIDIA_VISIBLE_DEVICES"];

    public static TheoryData<string> ValuesFiles => ChartTools.ValuesFiles;

    /// <summary>
    /// The bound sections: every ObservaCost type with a <c>SectionName</c> constant in the two deployables the chart
    /// runs (and the libraries they reference), plus <see cref="NvidiaSmiPollerOptions"/>, which
    /// CollectorApplication binds to <see cref="NvidiaSmiScheduleOptions.SectionName"/> beside the schedule.
    /// </summary>
    private static readonly IReadOnlyList<(string Section, Type Options)> Sections = FindSections();

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task ChartEnvironment_EveryKey_BindsToTheHostsOptions(string values)
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync(values);
        int checkedKeys = 0;
        foreach (JsonElement container in Workloads.Of(objects).SelectMany(w => w.Containers()))
        {
            foreach (string name in container.Env().Select(e => e.Path("name")!).Where(n => !NotOptions.Contains(n)))
            {
                Assert.True(name.Contains("__", StringComparison.Ordinal), $"{name} is neither a Section__Key configuration key nor one of {string.Join(", ", NotOptions)}");
                Assert.True(Binds(name.Replace("__", ":", StringComparison.Ordinal), Value(container, name), out string why), $"{values}: {name}: {why}");
                checkedKeys++;
            }
        }

        // The store's keys at least, in every values file.
        Assert.True(checkedKeys >= 5, $"only {checkedKeys} keys checked");
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task ChartEnvironment_EachWorkload_PassesItsHostsStartupValidation(string values)
    {
        // Each rendered workload's configuration, given to the host it runs (node collector or analytics service) as
        // --Key=value pairs, passes that host's options validation at start (what stops a pod with a one-line
        // "configuration error: KEY ..."). Only the paths inside the pod move to this machine: the spool into a temp
        // folder, the mounted pricing file to the example it is rendered from.
        IReadOnlyList<RenderedObject> workloads = [.. Workloads.Of(await ChartTools.RenderAsync(values))];
        string temp = Directory.CreateTempSubdirectory("observacost-chart-config-").FullName;
        try
        {
            foreach (RenderedObject workload in workloads)
            {
                bool analytics = workload.Name.EndsWith("-analytics", StringComparison.Ordinal);
                Dictionary<string, string> config = Configuration(workload.Containers().Single());
                if (config.ContainsKey("Collector:Spool:Directory"))
                {
                    config["Collector:Spool:Directory"] = Path.Combine(temp, workload.Name);
                }

                if (config.ContainsKey("Analytics:PricingFile"))
                {
                    config["Analytics:PricingFile"] = Path.Combine(RepoPaths.Root, "docs", "pricing.example.json");
                }

                string[] args = [.. config.Select(kv => $"--{kv.Key}={kv.Value}")];
                await using WebApplication app = analytics ? AnalyticsApplication.Build(args) : NodeCollectorApplication.Build(args);
                try
                {
                    app.Services.GetRequiredService<IStartupValidator>().Validate();
                }
                catch (OptionsValidationException ex)
                {
                    Assert.Fail($"{values}: {workload.Kind} {workload.Name}: {string.Join(" | ", ex.Failures)}");
                }
            }
        }
        finally
        {
            Directory.Delete(temp, recursive: true);
        }
    }

    /// <summary>A container's configuration keys (<c>Section:Key</c>) with their values as the pod would see them.</summary>
    private static Dictionary<string, string> Configuration(JsonElement container) =>
        container.Env().Select(e => e.Path("name")!).Where(n => !NotOptions.Contains(n))
            .ToDictionary(n => n.Replace("__", ":", StringComparison.Ordinal), n => Value(container, n));

    private static string Value(JsonElement container, string name) =>
        DependentVariable().Replace(container.EnvVar(name)!.Value.Path("value") ?? SecretStandIn(name), m => StandIn(m.Groups[1].Value));

    [Theory]
    [InlineData("Collector:Spool:MaxByte", "1073741824")]
    [InlineData("Storage:InfluxDb:Uri", "http://influxdb:8086")]
    [InlineData("Collector:Spool:MaxBytes", "1Gi")]
    [InlineData("Collector:Scrape:Targets:0:Interval", "15s")]
    [InlineData("Analytics:Scheduler:PostgresConnectionStrings", "Host=db")]
    [InlineData("Collector:Nowhere:Enabled", "true")]
    public void Binds_MisspeltKeyOrWrongValue_Fails(string key, string value)
    {
        Assert.False(Binds(key, value, out _), key + " should not bind");
    }

    [Theory]
    [InlineData("Collector:Spool:MaxBytes", "1073741824")]
    [InlineData("Collector:NvidiaSmi:Node", "gpu-node-1")]
    [InlineData("Collector:NvidiaSmi:Enabled", "true")]
    [InlineData("Analytics:PricingFile", "/etc/observacost/pricing/pricing.json")]
    [InlineData("Analytics:Api:Tokens:1:Admin", "true")]
    public void Binds_KnownKey_Succeeds(string key, string value)
    {
        Assert.True(Binds(key, value, out string why), why);
    }

    /// <summary>True when some section that <paramref name="key"/> lies in binds it (and its value) to its options type.</summary>
    private static bool Binds(string key, string value, out string why)
    {
        var failures = new List<string>();
        foreach ((string section, Type type) in Sections.Where(s => key.StartsWith(s.Section + ":", StringComparison.Ordinal)))
        {
            IConfiguration config = new ConfigurationBuilder()
                .AddInMemoryCollection([new KeyValuePair<string, string?>(key, value)])
                .Build();
            try
            {
                config.GetSection(section).Bind(Activator.CreateInstance(type)!, o => o.ErrorOnUnknownConfiguration = true);
                why = string.Empty;
                return true;
            }
            catch (InvalidOperationException ex)
            {
                failures.Add($"{type.Name} ({section}): {ex.Message}");
            }
        }

        why = failures.Count == 0 ? "no options section contains this key" : string.Join(" | ", failures);
        return false;
    }

    private static List<(string, Type)> FindSections()
    {
        var assemblies = new HashSet<Assembly>();
        var pending = new Stack<Assembly>([typeof(NodeCollectorApplication).Assembly, typeof(AnalyticsApplication).Assembly]);
        while (pending.TryPop(out Assembly? assembly))
        {
            if (!assemblies.Add(assembly))
            {
                continue;
            }

            foreach (AssemblyName reference in assembly.GetReferencedAssemblies().Where(r => r.Name!.StartsWith("ObservaCost.", StringComparison.Ordinal)))
            {
                pending.Push(Assembly.Load(reference));
            }
        }

        List<(string, Type)> sections = [.. assemblies.SelectMany(a => a.GetTypes())
            .Select(t => (Type: t, Field: t.GetField("SectionName", BindingFlags.Public | BindingFlags.Static)))
            .Where(x => x.Field is { IsLiteral: true } && x.Field.FieldType == typeof(string) && x.Type.GetConstructor(Type.EmptyTypes) is not null)
            .Select(x => ((string)x.Field!.GetRawConstantValue()!, x.Type))];
        sections.Add((NvidiaSmiScheduleOptions.SectionName, typeof(NvidiaSmiPollerOptions)));
        Assert.Contains(sections, s => s.Item2.Name == "SchedulerOptions");
        Assert.Contains(sections, s => s.Item2.Name == "InfluxDbOptions");
        return sections;
    }

    /// <summary>A value of the right shape for a key whose value comes from a Secret (a token hash: 64 hex digits, one per key).</summary>
    private static string SecretStandIn(string name) =>
        name.EndsWith("__Sha256", StringComparison.Ordinal) ? Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(name)))
        : name.EndsWith("__PostgresConnectionString", StringComparison.Ordinal) ? "Host=postgres;Database=quartz;Username=observacost;Password=secret"
        : name is "HOST_IP" or "NODE_NAME" ? StandIn(name)
        : "from-secret";

    /// <summary>The downward-API values a kubelet substitutes for <c>$(HOST_IP)</c> and <c>$(NODE_NAME)</c>.</summary>
    private static string StandIn(string variable) => variable switch
    {
        "HOST_IP" => "192.0.2.10",
        "NODE_NAME" => "gpu-node-1",
        _ => throw new InvalidOperationException("unexpected $(" + variable + ")"),
    };

    [GeneratedRegex(@"\$\(([A-Z_]+)\)")]
    private static partial Regex DependentVariable();
}
