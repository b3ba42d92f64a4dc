using Xunit;

namespace ObservaCost.Testing;

/// <summary>
/// Lines that InfluxDB 1.6.7 refuses (each answer learned by writing the line to a real influxd) and lines it
/// accepts. The parser must refuse the first with a reason and read the second: what ingest acknowledges, a store
/// takes.
/// </summary>
public static class InfluxDbLineCases
{
    /// <summary>A line, the words of our reason, and what influxd 1.6.7 answered to it.</summary>
    public static TheoryData<string, string> Refused => new()
    {
        { "m,t=a,t=b f=1", "duplicate tags" },                                  // influxd: duplicate tags
        { "m,t=a,u=1,t=a f=1", "duplicate tags" },                              // influxd: duplicate tags
        { "m,t=a=b f=1", "invalid tag format" },                                // influxd: invalid tag format
        { "m f=+1", "invalid number" },                                         // influxd: invalid boolean
        { "m f=+1i", "invalid number" },                                        // influxd: invalid boolean
        { "m f=0x10", "invalid number" },                                       // influxd: invalid number
        { "m f=NaN", "invalid number" },                                        // influxd: invalid number
        { "m f=Inf", "invalid number" },                                        // influxd: invalid boolean
        { "m f=1_000", "invalid number" },                                      // influxd: invalid number
        { "m f=-", "invalid number" },                                          // influxd: invalid number
        { "m f=1e", "invalid number" },                                         // influxd: invalid float
        { "m f=5e-", "invalid number" },                                        // influxd: invalid float
        { "m f=1.2.3", "invalid number" },                                      // influxd: invalid number
        { "m f=1e400", "invalid number" },                                      // influxd: invalid float (out of range)
        { "m f=1i2", "invalid number" },                                        // influxd: invalid number
        { "m f=9223372036854775808i", "invalid number" },                       // influxd: value out of range
        { "m f=tRue", "invalid number" },                                       // influxd: invalid boolean
        { "m time=1", "invalid field name: input field \"time\"" },             // influxd: invalid field name
        { "m,time=a f=1", "invalid tag key: input tag \"time\"" },              // influxd: invalid tag key
        { "m f=1 +1", "invalid timestamp" },                                    // influxd: bad timestamp
        { "m f=1 1.5", "invalid timestamp" },                                   // influxd: bad timestamp
        { "m f=1 9223372036854775807", "out of range" },                        // influxd: time outside range
        { "m f=1 -9223372036854775808", "out of range" },                       // influxd: time outside range
        { "m,t=a, f=1", "invalid tag format" },                                 // influxd: missing tag key
        { "m f=1,", "invalid field format" },                                   // influxd: invalid field format
    };

    /// <summary>Lines influxd 1.6.7 stores (answer 204).</summary>
    public static TheoryData<string> Accepted => new(AcceptedLines);

    public static string[] AcceptedLines =>
    [
        "m f=1.",
        "m f=.5",
        "m f=-.5",
        "m f=1e+5",
        "m f=1E5",
        "m f=-1.5e-3",
        "m f=01",
        "m i=-0i",
        "m,t=\\=x f=1",
        "m,t=x\\= f=1",
        "m,t\\=k=x f=1",
        "time f=1",
        "m f=1 -1",
        "m f=1 00001",
        "m f=1 -9223372036854775806",
        "m f=1 9223372036854775806",
    ];
}
