using System.Text;
using Microsoft.Extensions.Time.Testing;
using ObservaCost.Collector.Pipeline;

namespace ObservaCost.Collector.Tests.Pipeline;

public sealed class DeadLetterFileTests
{
    [Fact]
    public void Append_PastTheLimit_KeepsWhatFitsAndNothingAfter()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-dlf-" + Guid.NewGuid().ToString("N")[..12]);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero));
        // Each letter is one line of 87 bytes:
        // {"time":"  (9) 2026-11-30T08:00:00.0000000Z (28) ","backend":" (13) sqlite (6) ","reason":" (12) r (1)
        // ","line":" (10) m f=1 (5) "} (2) = 86, plus the line end. 175 bytes hold two (174), not three (261).
        var file = new DeadLetterFile(dir, maxBytes: 175, clock);
        var letter = new DeadLetter("r", Encoding.UTF8.GetBytes("m f=1\n"));
        try
        {
            Assert.Equal(2, file.Append([letter, letter, letter], "sqlite"));
            Assert.Equal(0, file.Append([letter], "sqlite"));
            string[] lines = File.ReadAllLines(file.Path);
            Assert.Equal(2, lines.Length);
            Assert.Equal("{\"time\":\"2026-11-30T08:00:00.0000000Z\",\"backend\":\"sqlite\",\"reason\":\"r\",\"line\":\"m f=1\"}", lines[0]);
            Assert.Equal(174, new FileInfo(file.Path).Length);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }

    [Fact]
    public void Append_QuotesAndLineBreaks_EscapedSoEachLetterIsOneLine()
    {
        string dir = Path.Combine(Path.GetTempPath(), "observacost-dlf-" + Guid.NewGuid().ToString("N")[..12]);
        var file = new DeadLetterFile(dir, maxBytes: 1 << 20, new FakeTimeProvider(new DateTimeOffset(2026, 11, 30, 8, 0, 0, TimeSpan.Zero)));
        try
        {
            // A string field that spans two lines, with quotes: written as one JSON line, read back unchanged.
            Assert.Equal(1, file.Append([new DeadLetter("bad\tthing", Encoding.UTF8.GetBytes("m s=\"a\nb\" 1\n"))], "influxdb"));
            string text = File.ReadAllText(file.Path);
            Assert.Equal("{\"time\":\"2026-11-30T08:00:00.0000000Z\",\"backend\":\"influxdb\",\"reason\":\"bad\\tthing\",\"line\":\"m s=\\\"a\\nb\\\" 1\"}\n", text);
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
    }
}
