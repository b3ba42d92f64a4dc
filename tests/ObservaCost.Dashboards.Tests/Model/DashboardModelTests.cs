using System.Text.Json.Nodes;

namespace ObservaCost.Dashboards.Tests.Model;

/// <summary>
/// Every dashboard in dashboards/ passes every check of <see cref="DashboardChecks"/>; and a dashboard broken on
/// purpose (a real one, changed in the test) fails each check with a message that names the fault.
/// </summary>
public sealed class DashboardModelTests
{
    public static TheoryData<string> Files => [.. GrafanaDashboard.FileNames];

    [Fact]
    public void DashboardsFolder_HoldsExactlyTheFourDashboards()
    {
        string[] files = [.. Directory.GetFiles(GrafanaDashboard.Folder, "*.json").Select(Path.GetFileName).Order(StringComparer.Ordinal)!];
        Assert.Equal(GrafanaDashboard.FileNames, files);
    }

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_AgainstGeneratedGrafanaSchema_IsValid(string file) =>
        Assert.Empty(DashboardChecks.Schema(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_EveryTarget_HasTheInfluxQlTargetShape(string file) =>
        Assert.Empty(DashboardChecks.InfluxQlTargets(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_PanelIds_AreUnique(string file) =>
        Assert.Empty(DashboardChecks.UniquePanelIds(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_GridPositions_DoNotOverlap(string file) =>
        Assert.Empty(DashboardChecks.NoOverlappingPanels(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_EveryVariableUsed_IsDefined(string file) =>
        Assert.Empty(DashboardChecks.VariablesDefined(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_EveryDataPanel_SetsAUnit(string file) =>
        Assert.Empty(DashboardChecks.UnitsSet(GrafanaDashboard.Load(file)));

    [Theory]
    [MemberData(nameof(Files))]
    public void Dashboard_AsAFile_IsImportable(string file) =>
        Assert.Empty(DashboardChecks.Importable(GrafanaDashboard.Load(file)));

    [Fact]
    public void Dashboards_Uids_AreDistinct()
    {
        string?[] uids = [.. GrafanaDashboard.FileNames.Select(f => GrafanaDashboard.Text(GrafanaDashboard.Load(f).Json, "uid"))];
        Assert.Equal(uids.Length, uids.Distinct(StringComparer.Ordinal).Count());
    }

    // ------------------------------------------------------------------ broken on purpose

    [Fact]
    public void Schema_GridWidthAsText_FailsAtThatProperty()
    {
        GrafanaDashboard broken = Broken(d => Panel(d, 1)["gridPos"]!["w"] = "wide");
        Assert.Contains(DashboardChecks.Schema(broken), f => f.Contains("/panels/1/gridPos/w", StringComparison.Ordinal) && f.Contains("type", StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_UnknownDashboardProperty_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Json["refreshEvery"] = "5m");
        Assert.Contains(DashboardChecks.Schema(broken), f => f.Contains("refreshEvery", StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_RowWithoutCollapsed_FailsAsARow()
    {
        // Panel 0 is a row: the if/then/else reads it as a RowPanel, which requires "collapsed".
        GrafanaDashboard broken = Broken(d => Panel(d, 0).Remove("collapsed"));
        Assert.Contains(DashboardChecks.Schema(broken), f => f.Contains("/panels/0", StringComparison.Ordinal) && f.Contains("collapsed", StringComparison.Ordinal));
    }

    [Fact]
    public void Schema_MissingSchemaVersion_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Json.Remove("schemaVersion"));
        Assert.Contains(DashboardChecks.Schema(broken), f => f.Contains("schemaVersion", StringComparison.Ordinal));
    }

    [Fact]
    public void InfluxQlTarget_WithoutRawQuery_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d).Remove("rawQuery"));
        Assert.Contains(DashboardChecks.InfluxQlTargets(broken), f => f.Contains("rawQuery", StringComparison.Ordinal));
    }

    [Fact]
    public void InfluxQlTarget_UnknownResultFormat_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d)["resultFormat"] = "timeseries");
        Assert.Contains(DashboardChecks.InfluxQlTargets(broken), f => f.Contains("/resultFormat", StringComparison.Ordinal));
    }

    [Fact]
    public void InfluxQlTarget_AliasAsNumber_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d)["alias"] = 3);
        Assert.Contains(DashboardChecks.InfluxQlTargets(broken), f => f.Contains("/alias", StringComparison.Ordinal));
    }

    [Fact]
    public void InfluxQlTarget_EmptyQuery_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d)["query"] = string.Empty);
        Assert.Contains(DashboardChecks.InfluxQlTargets(broken), f => f.Contains("/query", StringComparison.Ordinal));
    }

    [Fact]
    public void PanelIds_TwoPanelsWithOneId_FailNamingBoth()
    {
        GrafanaDashboard broken = Broken(d => Panel(d, 2)["id"] = Panel(d, 1)["id"]!.DeepClone());
        string failure = Assert.Single(DashboardChecks.UniquePanelIds(broken));
        Assert.StartsWith("panel id 2 is used by #2 ", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void GridPos_PanelMovedOntoAnother_FailsAsOverlap()
    {
        // Panel 2 is moved to panel 1's position: the two overlap.
        GrafanaDashboard broken = Broken(d => Panel(d, 2)["gridPos"] = Panel(d, 1)["gridPos"]!.DeepClone());
        Assert.Contains(DashboardChecks.NoOverlappingPanels(broken), f => f.Contains("overlaps", StringComparison.Ordinal));
    }

    [Fact]
    public void GridPos_PanelWiderThanTheGrid_Fails()
    {
        GrafanaDashboard broken = Broken(d => Panel(d, 1)["gridPos"]!["w"] = 30);
        Assert.Contains(DashboardChecks.NoOverlappingPanels(broken), f => f.Contains("does not fit the 24-column grid", StringComparison.Ordinal));
    }

    [Fact]
    public void Variables_QueryUsingAnUndefinedVariable_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d)["query"] = GrafanaDashboard.Text(Target(d), "query") + " AND \"gpu\" =~ /^$gpu$/");
        string failure = Assert.Single(DashboardChecks.VariablesDefined(broken));
        Assert.EndsWith("uses $gpu, which no template variable defines", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Variables_RemovedVariableStillUsed_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Json["templating"]!["list"]!.AsArray().RemoveAt(2)); // pool
        Assert.Contains(DashboardChecks.VariablesDefined(broken), f => f.Contains("uses $pool", StringComparison.Ordinal));
    }

    [Fact]
    public void Variables_AliasTagNames_AreNotVariables()
    {
        // $tag_node in an alias is the InfluxDB data source's own; in a query it is an undefined variable.
        GrafanaDashboard dashboard = GrafanaDashboard.Load("platform.json");
        Assert.Empty(DashboardChecks.VariablesDefined(dashboard));
        GrafanaDashboard broken = Broken(d => Target(d)["query"] = GrafanaDashboard.Text(Target(d), "query") + " $tag_node");
        Assert.Contains(DashboardChecks.VariablesDefined(broken), f => f.Contains("uses $tag_node", StringComparison.Ordinal));
    }

    [Fact]
    public void Units_PanelWithoutUnit_Fails()
    {
        GrafanaDashboard broken = Broken(d => Panel(d, 1)["fieldConfig"]!["defaults"]!.AsObject().Remove("unit"));
        string failure = Assert.Single(DashboardChecks.UnitsSet(broken));
        Assert.EndsWith("sets no unit (fieldConfig.defaults.unit)", failure, StringComparison.Ordinal);
    }

    [Fact]
    public void Importable_NumericId_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Json["id"] = 7);
        Assert.Contains(DashboardChecks.Importable(broken), f => f.StartsWith("\"id\" must be null", StringComparison.Ordinal));
    }

    [Fact]
    public void Importable_TargetOnAFixedDataSource_Fails()
    {
        GrafanaDashboard broken = Broken(d => Target(d)["datasource"]!["uid"] = "P951FEA4DE68E13C5");
        Assert.Contains(DashboardChecks.Importable(broken), f => f.Contains("datasource must be", StringComparison.Ordinal) && f.Contains("P951FEA4DE68E13C5", StringComparison.Ordinal));
    }

    [Fact]
    public void Importable_PanelTypeMissingFromRequires_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Json["__requires"] = new JsonArray(d.Json["__requires"]!.AsArray().Where(r => GrafanaDashboard.Text(r!.AsObject(), "id") != "heatmap").Select(r => r!.DeepClone()).ToArray()));
        Assert.Contains(DashboardChecks.Importable(broken), f => f == "__requires does not name the panel plugin heatmap");
    }

    [Fact]
    public void Importable_FilterVariableAsCustomList_Fails()
    {
        GrafanaDashboard broken = Broken(d => d.Variables.Single(v => GrafanaDashboard.Text(v, "name") == "tenant")["type"] = "custom");
        Assert.Contains(DashboardChecks.Importable(broken), f => f == "template variable tenant must be a query variable backed by SHOW TAG VALUES");
    }

    [Fact]
    public void All_OnABrokenDashboard_ReportsEveryFault()
    {
        // One fault per check: the combined list names each.
        GrafanaDashboard broken = Broken(d =>
        {
            d.Json["id"] = 1;
            Target(d).Remove("rawQuery");
            Panel(d, 2)["gridPos"] = Panel(d, 1)["gridPos"]!.DeepClone();
        });
        IReadOnlyList<string> failures = DashboardChecks.All(broken);
        Assert.Contains(failures, f => f.Contains("rawQuery", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.Contains("overlaps", StringComparison.Ordinal));
        Assert.Contains(failures, f => f.StartsWith("\"id\" must be null", StringComparison.Ordinal));
    }

    /// <summary>The platform dashboard (panel 0 a row, panels 1 and 2 side by side) with <paramref name="change"/> applied to a copy.</summary>
    private static GrafanaDashboard Broken(Action<GrafanaDashboard> change)
    {
        GrafanaDashboard copy = GrafanaDashboard.Load("platform.json").Copy();
        Assert.Empty(DashboardChecks.All(copy)); // the fault is the change, nothing else
        change(copy);
        return copy;
    }

    private static JsonObject Panel(GrafanaDashboard dashboard, int index) => dashboard.Json["panels"]![index]!.AsObject();

    /// <summary>The first target of panel 1 (the utilization heatmap).</summary>
    private static JsonObject Target(GrafanaDashboard dashboard) => Panel(dashboard, 1)["targets"]![0]!.AsObject();
}
