using System.Reflection;
using System.Text.Json;
using System.Text.RegularExpressions;
using Microsoft.Extensions.Configuration;
using ObservaCost.Analytics.Service;
using ObservaCost.Collector.NvidiaSmi;
using ObservaCost.Deployment.Tests.Support;
using ObservaCost.NodeCollector;

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
            Dictionary<string, string> env = container.Env().ToDictionary(e => e.Path("name")!, e => e.Path("value") ?? SecretStandIn(e.Path("name")!));
            foreach ((string name, string value) in env)
            {
                if (NotOptions.Contains(name))
                {
                    continue;
                }

                Assert.True(name.Contains("__", StringComparison.Ordinal), $"{name} is neither a Section__Key configuration key nor one of {string.Join(", ", NotOptions)}");
                string key = name.Replace("__", ":", StringComparison.Ordinal);
                string resolved = DependentVariable().Replace(value, m => StandIn(m.Groups[1].Value));
                Assert.True(Binds(key, resolved, out string why), $"{values}: {name}={value}: {why}");
                checkedKeys++;
            }
        }

        // The store's keys at least, in every values file.
        Assert.True(checkedKeys >= 5, $"only {checkedKeys} keys checked");
    }

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

    /// <summary>A value of the right shape for a key whose value comes from a Secret (a token hash is 64 hex digits).</summary>
    private static string SecretStandIn(string name) =>
        name.EndsWith("__Sha256", StringComparison.Ordinal) ? new string('a', 64)
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
