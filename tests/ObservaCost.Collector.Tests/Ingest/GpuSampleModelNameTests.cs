using System.Globalization;
using System.Net;
using System.Net.Http.Headers;
using System.Text;
using ObservaCost.Collector.Tests.Support;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Query;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.Tests.Ingest;

/// <summary>
/// Issue 10: a <c>gpu_sample</c> pushed to <c>/write</c> with its uuid and the marketing name as <c>gpu_model</c> is
/// stored as every other source stores it (<see cref="GpuModelName"/>): the canonical key as the tag, the name sent in
/// the field <c>gpu_name</c>. So the pushed line and the sample a scraper writes for the same GPU are one series.
/// </summary>
public sealed class GpuSampleModelNameTests
{
    [Fact]
    public async Task Write_GpuSampleWithUuidAndFullModelName_StoredWithCanonicalKeyAndNameField()
    {
        await using CollectorHost host = await CollectorHost.StartAsync();
        DateTimeOffset now = TimeProvider.System.GetUtcNow();
        var t = new DateTimeOffset(now.UtcTicks - (now.UtcTicks % TimeSpan.TicksPerMinute), TimeSpan.Zero).AddMinutes(-10);

        // 1: pushed by hand with the full name; 2: what a scraper writes for the same GPU 10 s later (GpuSample,
        // gpu_model=H100 and gpu_name); 3: a canonical name stays as sent and gains no gpu_name; 4: a name with
        // escaped commas and an equals sign in its tag value.
        using var scraped = new LineProtocolWriter();
        new GpuSample { Time = t.AddSeconds(10), Node = "node-1", GpuIndex = 0, GpuUuid = "GPU-aa", GpuModel = "NVIDIA H100 80GB HBM3", PowerWatts = 610 }.WriteTo(scraped);
        string body = string.Create(CultureInfo.InvariantCulture, $"gpu_sample,gpu_index=0,gpu_model=NVIDIA\\ H100\\ 80GB\\ HBM3,node=node-1,uuid=GPU-aa power_watts=600 {t.ToUnixTimeMilliseconds() * 1_000_000}\n")
            + Encoding.UTF8.GetString(scraped.WrittenSpan)
            + string.Create(CultureInfo.InvariantCulture, $"gpu_sample,gpu_index=1,gpu_model=A100,node=node-1,uuid=GPU-bb power_watts=300 {t.ToUnixTimeMilliseconds() * 1_000_000}\n")
            + string.Create(CultureInfo.InvariantCulture, $"gpu_sample,gpu_index=2,gpu_model=AMD\\ Instinct\\ MI300X\\,\\ rev\\=1,node=node-1,uuid=GPU-cc power_watts=700 {t.ToUnixTimeMilliseconds() * 1_000_000}\n");
        using var push = new HttpRequestMessage(HttpMethod.Post, "/write?precision=ns") { Content = new StringContent(body) };
        push.Headers.Authorization = new AuthenticationHeaderValue("Bearer", CollectorHost.AdminToken);
        Assert.Equal(HttpStatusCode.NoContent, (await host.Client.SendAsync(push)).StatusCode);

        TimeSeriesQuery query = TimeSeriesQueryBuilder.From(Measurements.GpuSample).Field(Fields.PowerWatts).Field(Fields.GpuName)
            .Between(t.AddMinutes(-1), t.AddMinutes(1)).GroupBy(Tags.GpuUuid, Tags.GpuModel).Build();
        QueryResult stored = await host.WaitForAsync(query, r => r.Series.Sum(s => s.Rows.Count) == 4);

        // GPU-aa: one series (gpu_model=H100) holding the pushed and the scraped sample, both named in full.
        ResultSeries aa = Assert.Single(stored.Series, s => s.Tags[Tags.GpuUuid] == "GPU-aa");
        Assert.Equal("H100", aa.Tags[Tags.GpuModel]);
        Assert.Equal([600.0, 610.0], aa.Rows.Select(r => r[0].Number));
        Assert.All(aa.Rows, r => Assert.Equal("NVIDIA H100 80GB HBM3", r[1].Text));

        ResultSeries bb = Assert.Single(stored.Series, s => s.Tags[Tags.GpuUuid] == "GPU-bb");
        Assert.Equal("A100", bb.Tags[Tags.GpuModel]);
        Assert.Null(bb.Rows[0][1].Text);

        // "AMD Instinct MI300X, rev=1": brand words dropped, first word "MI300X," has a digit and no dash, so the key
        // is "MI300X," as the rule reads words split at spaces.
        ResultSeries cc = Assert.Single(stored.Series, s => s.Tags[Tags.GpuUuid] == "GPU-cc");
        Assert.Equal("MI300X,", cc.Tags[Tags.GpuModel]);
        Assert.Equal("AMD Instinct MI300X, rev=1", cc.Rows[0][1].Text);
    }
}
