using System.Text.Json;
using ObservaCost.Deployment.Tests.Support;
using ObservaCost.Testing;

namespace ObservaCost.Deployment.Tests.Chart;

/// <summary>
/// helm/observacost rendered with the default values and each values file in helm/observacost/ci (HA on PostgreSQL,
/// an external InfluxDB 2.x, VictoriaMetrics): lint, every object valid for Kubernetes 1.35 (kubernetes-models), and
/// the properties the chart promises.
/// </summary>
public sealed class ChartRenderTests
{
    public static TheoryData<string> ValuesFiles => ChartTools.ValuesFiles;

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Lint_Strict_Passes(string values)
    {
        var arguments = new List<string> { "lint", "--strict", ChartTools.ChartDirectory };
        if (ChartTools.ValuesFile(values) is { } file)
        {
            arguments.AddRange(["--values", file]);
        }

        ToolResult lint = await ChartTools.HelmAsync([.. arguments]);
        Assert.True(lint.ExitCode == 0, lint.ToString());
        Assert.Contains("1 chart(s) linted, 0 chart(s) failed", lint.Output, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("default", "ConfigMap:pricing,DaemonSet:collector,Deployment:analytics,Service:analytics,Service:collector,ServiceAccount:observacost")]
    [InlineData("ha", "ConfigMap:pricing,DaemonSet:collector,Deployment:analytics,Deployment:ingest,NetworkPolicy:analytics,NetworkPolicy:collector,NetworkPolicy:ingest,"
        + "PodDisruptionBudget:analytics,PodDisruptionBudget:ingest,Service:analytics,Service:collector,Service:ingest,ServiceAccount:observacost,ServiceMonitor:collector,ServiceMonitor:ingest")]
    [InlineData("influxdb", "DaemonSet:collector,Deployment:analytics,Service:analytics,Service:collector,ServiceAccount:observacost")]
    [InlineData("victoriametrics", "DaemonSet:collector,Service:collector,ServiceAccount:observacost")]
    public async Task Template_ValuesFile_RendersExactlyTheExpectedObjectsAllValid(string values, string expected)
    {
        // The dashboards' ConfigMaps are counted by DashboardConfigMapTests (their number follows dashboards/*.json).
        IReadOnlyList<RenderedObject> objects = (await ChartTools.RenderAsync(values)).Where(o => !o.Name.Contains("-dashboards-", StringComparison.Ordinal)).ToList();

        Assert.All(objects, o => Assert.True(o.Errors.Count == 0, $"{o.Kind} {o.Name}: {string.Join("; ", o.Errors)}"));
        string kinds = string.Join(',', objects.Select(o => o.Kind + ":" + o.Name[(o.Name.LastIndexOf('-') + 1)..]).Order(StringComparer.Ordinal));
        Assert.Equal(expected, kinds);
    }

    [Fact]
    public async Task Validator_ObjectWithWrongFieldType_Fails()
    {
        // The validation can fail: a container port as text and a Deployment without a selector.
        const string Broken = """
            apiVersion: apps/v1
            kind: Deployment
            metadata:
              name: broken
            spec:
              template:
                spec:
                  containers:
                    - name: a
                      image: x
                      ports:
                        - containerPort: "http"
            """;

        RenderedObject broken = Assert.Single(await ChartTools.ValidateAsync(Broken));

        Assert.Contains(broken.Errors, e => e.Contains("containerPort", StringComparison.Ordinal) && e.Contains("integer", StringComparison.Ordinal));
        Assert.Contains(broken.Errors, e => e.Contains("selector", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Template_HaValuesWithoutPostgres_FailsNamingTheValue()
    {
        ToolResult result = await ChartTools.TemplateAsync("ha", ["analytics.postgres.existingSecret="]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("analytics.replicaCount is 2, but more than one analytics replica needs Quartz clustering on PostgreSQL: set analytics.postgres.existingSecret", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Template_HaValues_TwoReplicasWithConnectionStringFromSecret()
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("ha");
        RenderedObject analytics = Workloads.Single(objects, "Deployment", "analytics");

        Assert.Equal("2", analytics.Object.Path("spec", "replicas"));
        JsonElement env = analytics.Containers().Single().EnvVar("Analytics__Scheduler__PostgresConnectionString")!.Value;
        Assert.Equal("observacost-postgres", env.Path("valueFrom", "secretKeyRef", "name"));
        Assert.Equal("connectionString", env.Path("valueFrom", "secretKeyRef", "key"));
        Assert.Null(env.Path("value"));
    }

    [Fact]
    public async Task Template_VictoriaMetricsWithAnalytics_FailsSayingWhy()
    {
        ToolResult result = await ChartTools.TemplateAsync("victoriametrics", ["analytics.enabled=true"]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("the analytics service reads with InfluxQL, which VictoriaMetrics does not answer", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("collector.spool.type=nfs", "/collector/spool/type")]
    [InlineData("analytics.replicaCount=0", "/analytics/replicaCount")]
    [InlineData("store.url=influxdb:8086", "/store/url")]
    [InlineData("collector.dcgm.interval=15s", "/collector/dcgm/interval")]
    [InlineData("collector.spoool.type=emptyDir", "spoool")]
    public async Task Template_ValueOutsideSchema_Refused(string set, string where)
    {
        ToolResult result = await ChartTools.TemplateAsync("default", [set]);

        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains("don't meet the specifications of the schema", result.Error, StringComparison.Ordinal);
        Assert.Contains(where, result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Workloads_SecurityContext_HardenedByDefault(string values)
    {
        IReadOnlyList<RenderedObject> workloads = [.. Workloads.Of(await ChartTools.RenderAsync(values))];
        Assert.NotEmpty(workloads);
        foreach (RenderedObject workload in workloads)
        {
            JsonElement pod = workload.PodSpec();
            Assert.Equal("true", pod.Path("securityContext", "runAsNonRoot"));
            Assert.Equal("1654", pod.Path("securityContext", "runAsUser"));
            Assert.Equal("RuntimeDefault", pod.Path("securityContext", "seccompProfile", "type"));
            Assert.Equal("false", pod.Path("automountServiceAccountToken"));
            foreach (JsonElement container in workload.Containers())
            {
                Assert.Equal("true", container.Path("securityContext", "runAsNonRoot"));
                Assert.Equal("true", container.Path("securityContext", "readOnlyRootFilesystem"));
                Assert.Equal("false", container.Path("securityContext", "allowPrivilegeEscalation"));
                Assert.Equal("""["ALL"]""", container.Path("securityContext", "capabilities", "drop"));
                Assert.Null(container.Path("securityContext", "capabilities", "add"));
                Assert.Equal("RuntimeDefault", container.Path("securityContext", "seccompProfile", "type"));

                // The writable places on the read-only root: /tmp, and the spool for the collectors.
                string[] mounts = [.. container.GetProperty("volumeMounts").EnumerateArray().Select(m => m.Path("mountPath")!)];
                Assert.Contains("/tmp", mounts);
                if (workload.Kind == "DaemonSet" || workload.Name.EndsWith("-ingest", StringComparison.Ordinal))
                {
                    Assert.Contains("/var/lib/observacost/spool", mounts);
                    Assert.Equal("/var/lib/observacost/spool", container.EnvVar("Collector__Spool__Directory")!.Value.Path("value"));
                }
            }

            // The one exception, on a hostPath spool only: the init container that hands the directory to UID 1654 runs
            // as root with CAP_CHOWN and nothing else.
            foreach (JsonElement init in workload.InitContainers())
            {
                Assert.Equal("spool-owner", init.Path("name"));
                Assert.Equal("""["chown","1654:1654","/var/lib/observacost/spool"]""", init.Path("command")?.Replace(" ", string.Empty, StringComparison.Ordinal));
                Assert.Equal("""["ALL"]""", init.Path("securityContext", "capabilities", "drop"));
                Assert.Equal("""["CHOWN"]""", init.Path("securityContext", "capabilities", "add"));
                Assert.Equal("true", init.Path("securityContext", "readOnlyRootFilesystem"));
                Assert.Equal("false", init.Path("securityContext", "allowPrivilegeEscalation"));
            }
        }
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Workloads_Probes_HealthzAndReadyzOnTheServicePort(string values)
    {
        foreach (RenderedObject workload in Workloads.Of(await ChartTools.RenderAsync(values)))
        {
            JsonElement container = workload.Containers().Single();
            Assert.Equal("/healthz", container.Path("livenessProbe", "httpGet", "path"));
            Assert.Equal("/healthz", container.Path("startupProbe", "httpGet", "path"));
            Assert.Equal("/readyz", container.Path("readinessProbe", "httpGet", "path"));
            Assert.Equal("http", container.Path("readinessProbe", "httpGet", "port"));
            Assert.NotNull(container.Path("resources", "requests", "memory"));
            Assert.NotNull(container.Path("resources", "limits", "memory"));

            // The port the probes reach is the one the process listens on (Urls overrides appsettings.json's loopback).
            string port = container.GetProperty("ports").EnumerateArray().Single(p => p.Path("name") == "http").Path("containerPort")!;
            Assert.Equal($"http://+:{port}", container.EnvVar("Urls")!.Value.Path("value"));
        }
    }

    [Fact]
    public async Task DaemonSet_Default_GpuNodesAndDcgmExporterByHostIp()
    {
        RenderedObject collector = Workloads.Single(await ChartTools.RenderAsync("default"), "DaemonSet", "collector");
        JsonElement pod = collector.PodSpec();
        JsonElement container = collector.Containers().Single();

        Assert.Equal("""{"nvidia.com/gpu.present":"true"}""", pod.GetProperty("nodeSelector").GetRawText());
        JsonElement toleration = Assert.Single(pod.GetProperty("tolerations").EnumerateArray());
        Assert.Equal(("nvidia.com/gpu", "Exists", "NoSchedule"), (toleration.Path("key"), toleration.Path("operator"), toleration.Path("effect")));

        Assert.Equal("status.hostIP", container.EnvVar("HOST_IP")!.Value.Path("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("spec.nodeName", container.EnvVar("NODE_NAME")!.Value.Path("valueFrom", "fieldRef", "fieldPath"));
        Assert.Equal("http://$(HOST_IP):9400/metrics", container.EnvVar("Collector__Scrape__Targets__0__Url")!.Value.Path("value"));
        Assert.Equal("Dcgm", container.EnvVar("Collector__Scrape__Targets__0__Kind")!.Value.Path("value"));
        Assert.Equal("$(NODE_NAME)", container.EnvVar("Collector__Scrape__Targets__0__Node")!.Value.Path("value"));
        Assert.Null(container.EnvVar("Collector__NvidiaSmi__Enabled"));

        // Default spool: an emptyDir bounded above Collector:Spool:MaxBytes (1 GiB = 1024 Mi < 1280 Mi).
        JsonElement spool = pod.GetProperty("volumes").EnumerateArray().Single(v => v.Path("name") == "spool");
        Assert.Equal("1280Mi", spool.Path("emptyDir", "sizeLimit"));
        Assert.Equal("1073741824", container.EnvVar("Collector__Spool__MaxBytes")!.Value.Path("value"));
    }

    [Fact]
    public async Task DaemonSet_NvidiaSmiSource_PollsWithTheNvidiaRuntime()
    {
        RenderedObject collector = Workloads.Single(await ChartTools.RenderAsync("victoriametrics"), "DaemonSet", "collector");
        JsonElement container = collector.Containers().Single();

        Assert.Equal("nvidia", collector.PodSpec().Path("runtimeClassName"));
        Assert.Equal("true", container.EnvVar("Collector__NvidiaSmi__Enabled")!.Value.Path("value"));
        Assert.Equal("$(NODE_NAME)", container.EnvVar("Collector__NvidiaSmi__Node")!.Value.Path("value"));
        Assert.DoesNotContain(container.Env(), e => e.Path("name")!.StartsWith("Collector__Scrape__", StringComparison.Ordinal));
        Assert.Equal("false", container.EnvVar("Storage__InfluxDb__CreateDatabase")!.Value.Path("value"));
    }

    [Theory]
    [InlineData("victoriametrics", "false")]
    [InlineData("influxdb", "true")]
    public async Task Store_V2_StartupChecksOnlyAgainstInfluxDb(string storeType, string expected)
    {
        // V2's start-up checks call InfluxDB 2.x's management API (/api/v2/orgs, buckets, dbrps), which VictoriaMetrics lacks.
        RenderedObject collector = Workloads.Single(
            await ChartTools.RenderAsync("default", ["store.type=" + storeType, "store.apiVersion=V2", "store.org=acme", "store.auth.existingSecret=store-token", "analytics.enabled=false"]),
            "DaemonSet",
            "collector");
        Assert.Equal(expected, collector.Containers().Single().EnvVar("Storage__InfluxDb__StartupChecks")!.Value.Path("value"));
    }

    [Fact]
    public async Task DaemonSet_HostPathSpool_KeptOnTheNode()
    {
        RenderedObject collector = Workloads.Single(await ChartTools.RenderAsync("influxdb"), "DaemonSet", "collector");
        JsonElement spool = collector.PodSpec().GetProperty("volumes").EnumerateArray().Single(v => v.Path("name") == "spool");

        Assert.Equal("/var/lib/observacost/spool", spool.Path("hostPath", "path"));
        Assert.Equal("DirectoryOrCreate", spool.Path("hostPath", "type"));
        Assert.Null(spool.Path("emptyDir"));
        Assert.Equal("prod-eu", collector.Containers().Single().EnvVar("Collector__Scrape__Targets__0__Cluster")!.Value.Path("value"));
        Assert.Equal("chat-h100", collector.Containers().Single().EnvVar("Collector__Scrape__Targets__0__Pool")!.Value.Path("value"));
    }

    [Theory]
    [MemberData(nameof(ValuesFiles))]
    public async Task Secrets_ReferencedFromExistingSecrets_NeverInlined(string values)
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync(values);

        // The chart creates no Secret: credentials, token hashes and the connection string are the user's Secrets.
        Assert.DoesNotContain(objects, o => o.Kind == "Secret");
        string[] secretKeys = ["__Password", "__Username", "__Token", "__Sha256", "__PostgresConnectionString"];
        foreach (JsonElement container in Workloads.Of(objects).SelectMany(w => w.Containers()))
        {
            foreach (JsonElement env in container.Env().Where(e => secretKeys.Any(k => e.Path("name")!.EndsWith(k, StringComparison.Ordinal))))
            {
                Assert.Null(env.Path("value"));
                Assert.NotNull(env.Path("valueFrom", "secretKeyRef", "name"));
            }
        }
    }

    [Fact]
    public async Task Secrets_HaValues_EachTokenHashFromItsSecretKey()
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("ha");
        JsonElement ingest = Workloads.Single(objects, "Deployment", "ingest").Containers().Single();
        JsonElement analytics = Workloads.Single(objects, "Deployment", "analytics").Containers().Single();
        JsonElement collector = Workloads.Single(objects, "DaemonSet", "collector").Containers().Single();

        foreach (JsonElement container in new[] { ingest, collector })
        {
            Assert.Equal(("observacost-ingest-tokens", "acme-vllm-sha256"), (container.EnvVar("Collector__Auth__Tokens__1__Sha256")!.Value.Path("valueFrom", "secretKeyRef", "name"),
                container.EnvVar("Collector__Auth__Tokens__1__Sha256")!.Value.Path("valueFrom", "secretKeyRef", "key")));
            Assert.Equal("acme", container.EnvVar("Collector__Auth__Tokens__1__Tenant")!.Value.Path("value"));
            Assert.Equal("false", container.EnvVar("Collector__Auth__AllowAnonymousLoopback")!.Value.Path("value"));
            Assert.Equal("observacost-influxdb", container.EnvVar("Storage__InfluxDb__Password")!.Value.Path("valueFrom", "secretKeyRef", "name"));
        }

        Assert.Equal("finops-sha256", analytics.EnvVar("Analytics__Api__Tokens__0__Sha256")!.Value.Path("valueFrom", "secretKeyRef", "key"));
        Assert.Equal("true", analytics.EnvVar("Analytics__Api__Tokens__0__Admin")!.Value.Path("value"));
        Assert.Equal("acme", analytics.EnvVar("Analytics__Api__Tokens__1__Tenant")!.Value.Path("value"));
        Assert.Null(analytics.EnvVar("Analytics__Api__Tokens__1__Admin"));
    }

    [Fact]
    public async Task Pricing_Default_ExampleFileAsConfigMapMountedWhereTheOptionPoints()
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("default");
        RenderedObject pricing = Assert.Single(objects, o => o.Kind == "ConfigMap" && o.Name.EndsWith("-pricing", StringComparison.Ordinal));
        RenderedObject analytics = Workloads.Single(objects, "Deployment", "analytics");

        string example = await File.ReadAllTextAsync(Path.Combine(RepoPaths.Root, "docs", "pricing.example.json"));
        Assert.Equal(example.TrimEnd('\n'), pricing.Object.Path("data", "pricing.json"));
        JsonElement volume = analytics.PodSpec().GetProperty("volumes").EnumerateArray().Single(v => v.Path("name") == "pricing");
        Assert.Equal(pricing.Name, volume.Path("configMap", "name"));
        Assert.Equal("/etc/observacost/pricing/pricing.json", analytics.Containers().Single().EnvVar("Analytics__PricingFile")!.Value.Path("value"));
    }

    [Fact]
    public async Task Pricing_ExistingConfigMap_UsedAndNoneRendered()
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("influxdb");
        RenderedObject analytics = Workloads.Single(objects, "Deployment", "analytics");

        Assert.DoesNotContain(objects, o => o.Kind == "ConfigMap" && o.Name.EndsWith("-pricing", StringComparison.Ordinal));
        Assert.Equal("observacost-pricing", analytics.PodSpec().GetProperty("volumes").EnumerateArray().Single(v => v.Path("name") == "pricing").Path("configMap", "name"));
    }

    [Fact]
    public async Task Store_InfluxDbV2Values_TokenFromSecretAndOrgBucket()
    {
        JsonElement analytics = Workloads.Single(await ChartTools.RenderAsync("influxdb"), "Deployment", "analytics").Containers().Single();

        Assert.Equal("https://influxdb.example.internal:8086", analytics.EnvVar("Storage__InfluxDb__Url")!.Value.Path("value"));
        Assert.Equal("V2", analytics.EnvVar("Storage__InfluxDb__ApiVersion")!.Value.Path("value"));
        Assert.Equal("platform", analytics.EnvVar("Storage__InfluxDb__Org")!.Value.Path("value"));
        Assert.Equal("observacost", analytics.EnvVar("Storage__InfluxDb__Bucket")!.Value.Path("value"));
        Assert.Equal("influxdb-observacost-token", analytics.EnvVar("Storage__InfluxDb__Token")!.Value.Path("valueFrom", "secretKeyRef", "name"));
        Assert.Null(analytics.EnvVar("Storage__InfluxDb__Password"));
    }

    [Fact]
    public async Task Optional_HaValues_PdbNetworkPolicyServiceMonitorSelectTheirPods()
    {
        IReadOnlyList<RenderedObject> objects = await ChartTools.RenderAsync("ha");

        RenderedObject pdb = Assert.Single(objects, o => o.Kind == "PodDisruptionBudget" && o.Name.EndsWith("-analytics", StringComparison.Ordinal));
        Assert.Equal("1", pdb.Object.Path("spec", "minAvailable"));
        Assert.Equal("analytics", pdb.Object.Path("spec", "selector", "matchLabels", "app.kubernetes.io/component"));
        RenderedObject policy = Assert.Single(objects, o => o.Kind == "NetworkPolicy" && o.Name.EndsWith("-collector", StringComparison.Ordinal));
        Assert.Equal("""["Ingress"]""", policy.Object.Path("spec", "policyTypes"));
        RenderedObject monitor = Assert.Single(objects, o => o.Kind == "ServiceMonitor" && o.Name.EndsWith("-collector", StringComparison.Ordinal));
        Assert.Equal("/metrics", monitor.Object.GetProperty("spec").GetProperty("endpoints")[0].Path("path"));
        Assert.Equal("kube-prometheus-stack", monitor.Object.Path("metadata", "labels", "release"));
    }

    [Fact]
    public async Task Notes_Install_PortForwardAndFirstChecks()
    {
        ToolResult install = await ChartTools.HelmAsync("install", "oc", ChartTools.ChartDirectory, "--namespace", "gpu-cost", "--dry-run=client");

        Assert.True(install.ExitCode == 0, install.ToString());
        string notes = install.Output[install.Output.IndexOf("NOTES:", StringComparison.Ordinal)..];
        Assert.Contains("kubectl -n gpu-cost port-forward svc/oc-observacost-analytics 5090:http", notes, StringComparison.Ordinal);
        Assert.Contains("curl -s http://127.0.0.1:5080/readyz", notes, StringComparison.Ordinal);
        Assert.Contains("kubectl -n gpu-cost get daemonset oc-observacost-collector", notes, StringComparison.Ordinal);
        Assert.Contains("The pricing file is the EXAMPLE one", notes, StringComparison.Ordinal);
    }
}
