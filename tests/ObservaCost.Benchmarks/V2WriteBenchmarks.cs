using System.Net;
using BenchmarkDotNet.Attributes;
using InfluxDB.Client;
using InfluxDB.Client.Writes;
using Microsoft.Extensions.Logging.Abstractions;
using ObservaCost.Storage;
using ObservaCost.Storage.Influx;
using ObservaCost.Storage.LineProtocol;
using ObservaCost.Storage.Schema;
using ClientPrecision = InfluxDB.Client.Api.Domain.WritePrecision;

namespace ObservaCost.Benchmarks;

/// <summary>
/// The V2 write path, side by side in one run: one batch of 5,000 GPU samples (up to 14 tags, 8 fields) to
/// <c>/api/v2/write</c>, encoded and sent by the project (<see cref="LineProtocolWriter"/> → <see cref="InfluxDbStore"/>)
/// and by InfluxDB.Client 5.1.0 (<see cref="PointData"/> → <c>WriteApiAsync.WritePointsAsync</c>). Both send through
/// the same <see cref="HttpClient"/> whose handler reads the whole body and answers 204, so the figures are the
/// clients' own work (encoding, compression, request), not a server's; per point.
/// </summary>
public class V2WriteBenchmarks
{
    private const int Points = 5_000;
    private GpuSample[] _samples = [];
    private LineProtocolWriter _writer = null!;
    private InfluxDbStore _store = null!;
    private InfluxDBClient _client = null!;
    private WriteApiAsync _clientWrites = null!;

    /// <summary>Both clients compress or both do not.</summary>
    [Params(false, true)]
    public bool Gzip { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _samples = Fleet.Samples(Points, new DateTimeOffset(2026, 11, 21, 0, 0, 0, TimeSpan.Zero));
        _writer = new LineProtocolWriter(WritePrecision.Nanoseconds, 8 * 1024 * 1024);
        var http = new HttpClient(new DrainHandler());
        var url = new Uri("http://influx.bench:8086/");
        _store = new InfluxDbStore(
            http,
            new InfluxDbOptions { Url = url, ApiVersion = InfluxApiVersion.V2, Org = "acme", Bucket = "gpu", Token = "t", StartupChecks = false, Gzip = Gzip },
            TimeProvider.System,
            NullLogger<InfluxDbStore>.Instance);
        _client = new InfluxDBClient(new InfluxDBClientOptions(url.AbsoluteUri) { Token = "t", Org = "acme", Bucket = "gpu", HttpClient = http });
        if (Gzip)
        {
            _client.EnableGzip();
        }

        _clientWrites = _client.GetWriteApiAsync();
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        _writer.Dispose();
        _client.Dispose();
    }

    [Benchmark(Baseline = true, OperationsPerInvoke = Points)]
    public async Task<int> ProjectWriter()
    {
        _writer.Reset();
        foreach (GpuSample sample in _samples)
        {
            sample.WriteTo(_writer);
        }

        WriteResult result = await _store.WriteAsync(new LineProtocolBatch(_writer.WrittenMemory, _writer.PointCount, WritePrecision.Nanoseconds));
        return result.PointsWritten;
    }

    [Benchmark(OperationsPerInvoke = Points)]
    public async Task<int> InfluxDbClient()
    {
        var points = new List<PointData>(Points);
        foreach (GpuSample s in _samples)
        {
            points.Add(ToPointData(s));
        }

        await _clientWrites.WritePointsAsync(points, "gpu", "acme");
        return points.Count;
    }

    /// <summary>The same tags and fields <see cref="GpuSample.WriteTo"/> writes (PointData sorts tags itself; absent values left out).</summary>
    private static PointData ToPointData(GpuSample s)
    {
        PointData p = PointData.Measurement(Measurements.GpuSample)
            .Tag(Tags.Cluster, s.Cluster)
            .Tag(Tags.Container, s.Container)
            .Tag(Tags.GpuIndex, s.GpuIndex.ToString(System.Globalization.CultureInfo.InvariantCulture))
            .Tag(Tags.GpuModel, GpuModelName.Canonical(s.GpuModel))
            .Tag(Tags.MigInstance, s.MigInstance)
            .Tag(Tags.MigProfile, s.MigProfile)
            .Tag(Tags.Namespace, s.Namespace)
            .Tag(Tags.Node, s.Node)
            .Tag(Tags.Pod, s.Pod)
            .Tag(Tags.Pool, s.Pool)
            .Tag(Tags.ServedModel, s.ServedModel)
            .Tag(Tags.Source, s.Source)
            .Tag(Tags.Tenant, s.Tenant)
            .Tag(Tags.GpuUuid, s.GpuUuid);
        p = Field(p, Fields.EnergyJoules, s.EnergyJoules);
        p = Field(p, Fields.GraphicsEngineActivityRatio, s.GraphicsEngineActivityRatio);
        p = s.MemoryTotalBytes is { } total ? p.Field(Fields.MemoryTotalBytes, total) : p;
        p = s.MemoryUsedBytes is { } used ? p.Field(Fields.MemoryUsedBytes, used) : p;
        p = Field(p, Fields.PowerWatts, s.PowerWatts);
        p = Field(p, Fields.TemperatureCelsius, s.TemperatureCelsius);
        p = Field(p, Fields.UtilizationPercent, s.UtilizationPercent);
        p = s.XidErrors is { } xid ? p.Field(Fields.XidErrors, xid) : p;
        return p.Timestamp(UnixTime.ToNanoseconds(s.Time), ClientPrecision.Ns);

        static PointData Field(PointData p, string key, double? value) => value is { } v ? p.Field(key, v) : p;
    }

    /// <summary>Reads every request body to the end and answers 204, as a server that accepted the write.</summary>
    private sealed class DrainHandler : HttpMessageHandler
    {
        protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
        {
            if (request.Content is not null)
            {
                await request.Content.CopyToAsync(Stream.Null, cancellationToken);
            }

            return new HttpResponseMessage(HttpStatusCode.NoContent) { RequestMessage = request };
        }
    }
}
