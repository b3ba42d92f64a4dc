using System.Text;
using ObservaCost.Collector.Ingest;

namespace ObservaCost.Collector.Tests.Ingest;

public sealed class IngestPipelineTests
{
    [Fact]
    public void Split_CutsAtPointBoundaries_NotInsideAStringThatHoldsALineBreak()
    {
        // Five points of which the second holds a line break in a string: 6 physical lines. At most 2 points a record:
        // records of points {1,2}, {3,4}, {5}.
        string text = "m v=1 1\nm s=\"two\nlines\" 2\nm v=3 3\nm v=4 4\nm v=5 5\n";
        byte[] body = Encoding.UTF8.GetBytes(text);
        List<(ReadOnlyMemory<byte> Lines, int PointCount)> records = IngestPipeline.Split(body, 5, maxPoints: 2, maxBytes: 1 << 20);
        Assert.Equal(["m v=1 1\nm s=\"two\nlines\" 2\n", "m v=3 3\nm v=4 4\n", "m v=5 5\n"], records.Select(r => Encoding.UTF8.GetString(r.Lines.Span)));
        Assert.Equal([2, 2, 1], records.Select(r => r.PointCount));

        // By bytes: 16 bytes a record holds one 8-byte line and the next (16 bytes), never a third.
        records = IngestPipeline.Split(Encoding.UTF8.GetBytes("m v=1 1\nm v=2 2\nm v=3 3\n"), 3, maxPoints: 100, maxBytes: 16);
        Assert.Equal([2, 1], records.Select(r => r.PointCount));
    }

    [Fact]
    public void Split_WhenTheParserDisagreesWithTheCount_KeepsOneRecord()
    {
        byte[] body = Encoding.UTF8.GetBytes("m v=1 1\nm v=2 2\n");
        var records = IngestPipeline.Split(body, 3, maxPoints: 1, maxBytes: 1 << 20);
        Assert.Equal(3, Assert.Single(records).PointCount);
    }
}
