using System.Text.RegularExpressions;
using ObservaCost.Dashboards.Tests.Model;
using ObservaCost.Storage.Influx;

namespace ObservaCost.Dashboards.Tests.Provisioning;

/// <summary>
/// The provisioning files in dashboards/provisioning name what the product really uses: the InfluxDB data source on the
/// database the store writes by default, of the plugin type the dashboards' DS_INFLUXDB variable selects, and a file
/// provider. Read as text, key by key (one value per key in these files).
/// </summary>
public sealed partial class ProvisioningFileTests
{
    private static readonly string Folder = Path.Combine(GrafanaDashboard.Folder, "provisioning");

    [Fact]
    public void DataSource_DatabaseAndType_AreTheStoresDefaults()
    {
        string yaml = File.ReadAllText(Path.Combine(Folder, "datasources", "influxdb.yaml"));
        Assert.Equal("1", Value(yaml, "apiVersion"));
        Assert.Equal("influxdb", Value(yaml, "type"));
        Assert.Equal(new InfluxDbOptions().Database, Value(yaml, "dbName")); // "observacost"
        Assert.Equal("observacost-influxdb", Value(yaml, "uid"));
    }

    [Fact]
    public void DataSource_PluginType_IsWhatTheDashboardsSelect()
    {
        string type = Value(File.ReadAllText(Path.Combine(Folder, "datasources", "influxdb.yaml")), "type");
        foreach (string file in GrafanaDashboard.FileNames)
        {
            var variable = GrafanaDashboard.Load(file).Variables.Single(v => GrafanaDashboard.Text(v, "name") == "DS_INFLUXDB");
            Assert.Equal(("datasource", type), (GrafanaDashboard.Text(variable, "type"), GrafanaDashboard.Text(variable, "query")));
        }
    }

    [Fact]
    public void DashboardProvider_IsAFileProviderWithAPath()
    {
        string yaml = File.ReadAllText(Path.Combine(Folder, "dashboards", "observacost.yaml"));
        Assert.Equal("1", Value(yaml, "apiVersion"));
        Assert.Equal("file", Value(yaml, "type"));
        Assert.StartsWith("/", Value(yaml, "path"), StringComparison.Ordinal);
        Assert.Equal("ObservaCost", Value(yaml, "folder"));
    }

    /// <summary>The single value of <paramref name="key"/> (a <c>key: value</c> line, comments ignored); fails when absent or repeated.</summary>
    private static string Value(string yaml, string key)
    {
        string[] values =
        [
            .. yaml.Split('\n')
                .Select(line => KeyValue().Match(line))
                .Where(m => m.Success && m.Groups["key"].Value == key)
                .Select(m => m.Groups["value"].Value.Trim().Trim('"')),
        ];
        return Assert.Single(values);
    }

    [GeneratedRegex(@"^\s*(?:-\s+)?(?<key>\w+):\s*(?<value>[^#]*?)\s*(?:#.*)?$", RegexOptions.CultureInvariant)]
    private static partial Regex KeyValue();
}
