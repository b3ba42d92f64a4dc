using System.Globalization;
using System.Text.Json;

namespace ObservaCost.Analytics.TimeSeries.Evaluation;

/// <summary>One NAB data file: timestamps, values and its labelled windows as row indices.</summary>
public sealed record NabDataFile(string RelativePath, DateTime[] Timestamps, double[] Values, IReadOnlyList<NabWindow> Windows);

/// <summary>A published per-file score row (results/&lt;detector&gt;/&lt;detector&gt;_&lt;profile&gt;_scores.csv).</summary>
public sealed record NabPublishedScore(string Detector, string Profile, string RelativePath, double Threshold, double Score, int TruePositives, int TrueNegatives, int FalsePositives, int FalseNegatives);

/// <summary>
/// Reads a directory laid out like numenta/NAB: <c>data/&lt;category&gt;/*.csv</c> (timestamp,value),
/// <c>labels/combined_windows.json</c>, optional <c>config/profiles.json</c>, optional <c>results/</c> with detector
/// outputs and published per-file scores (the upstream tree or the dev subset's flat layout).
/// </summary>
public static class NabCorpus
{
    private const string TimestampFormat = "yyyy-MM-dd HH:mm:ss";

    /// <summary>Loads the data files whose relative path (category/file.csv) matches <paramref name="fileGlob"/>.</summary>
    public static IReadOnlyList<NabDataFile> Load(string root, string? fileGlob = null)
    {
        string dataDir = Path.Combine(root, "data");
        string windowsPath = Path.Combine(root, "labels", "combined_windows.json");
        Dictionary<string, List<(DateTime Start, DateTime End)>> windows = ReadWindows(windowsPath);
        var files = new List<NabDataFile>();
        foreach (string path in Directory.EnumerateFiles(dataDir, "*.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string relative = Path.GetRelativePath(dataDir, path).Replace('\\', '/');
            if (fileGlob is not null && !Glob.Matches(fileGlob, relative))
            {
                continue;
            }

            (DateTime[] timestamps, double[] values) = ReadSeries(path);
            var fileWindows = new List<NabWindow>();
            if (windows.TryGetValue(relative, out List<(DateTime Start, DateTime End)>? limits))
            {
                foreach ((DateTime start, DateTime end) in limits.OrderBy(w => w.Start))
                {
                    int left = LowerBound(timestamps, start);
                    int right = LowerBound(timestamps, end.AddTicks(1)) - 1;
                    if (left <= right)
                    {
                        fileWindows.Add(new NabWindow(left, right));
                    }
                }
            }

            files.Add(new NabDataFile(relative, timestamps, values, fileWindows));
        }

        return files;
    }

    /// <summary>The profiles in <c>config/profiles.json</c>, or NAB's three defaults when the file is absent.</summary>
    public static IReadOnlyList<NabProfile> LoadProfiles(string root)
    {
        string path = Path.Combine(root, "config", "profiles.json");
        if (!File.Exists(path))
        {
            return NabProfile.All;
        }

        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        var profiles = new List<NabProfile>();
        foreach (JsonProperty profile in document.RootElement.EnumerateObject())
        {
            JsonElement matrix = profile.Value.GetProperty("CostMatrix");
            profiles.Add(new NabProfile(
                profile.Name,
                matrix.GetProperty("tpWeight").GetDouble(),
                matrix.GetProperty("fnWeight").GetDouble(),
                matrix.GetProperty("fpWeight").GetDouble()));
        }

        return profiles;
    }

    /// <summary>A series CSV with a header: the first column a timestamp, the second the value.</summary>
    public static (DateTime[] Timestamps, double[] Values) ReadSeries(string path)
    {
        var timestamps = new List<DateTime>();
        var values = new List<double>();
        foreach (string line in File.ReadLines(path).Skip(1))
        {
            if (line.Length == 0)
            {
                continue;
            }

            string[] fields = line.Split(',');
            timestamps.Add(ParseTimestamp(fields[0]));
            values.Add(double.Parse(fields[1], NumberStyles.Float, CultureInfo.InvariantCulture));
        }

        return (timestamps.ToArray(), values.ToArray());
    }

    /// <summary>A detector output CSV (timestamp, value, anomaly_score, ...): the anomaly_score column.</summary>
    public static double[] ReadDetectorScores(string path)
    {
        using var reader = new StreamReader(path);
        string header = reader.ReadLine() ?? throw new InvalidDataException($"{path} is empty.");
        int column = Array.IndexOf(header.Split(','), "anomaly_score");
        if (column < 0)
        {
            throw new InvalidDataException($"{path} has no anomaly_score column.");
        }

        var scores = new List<double>();
        while (reader.ReadLine() is { } line)
        {
            if (line.Length > 0)
            {
                scores.Add(double.Parse(line.Split(',')[column], NumberStyles.Float, CultureInfo.InvariantCulture));
            }
        }

        return scores.ToArray();
    }

    /// <summary>
    /// Published per-file scores: every <c>*scores*.csv</c> under <c>results/</c> with the columns
    /// Detector,Profile,File,Threshold,Score,TP,TN,FP,FN (the upstream files and the dev subset's combined file).
    /// </summary>
    public static IReadOnlyList<NabPublishedScore> LoadPublishedScores(string root)
    {
        string results = Path.Combine(root, "results");
        var rows = new List<NabPublishedScore>();
        if (!Directory.Exists(results))
        {
            return rows;
        }

        foreach (string path in Directory.EnumerateFiles(results, "*scores*.csv", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            string[] lines = File.ReadAllLines(path);
            if (lines.Length == 0)
            {
                continue;
            }

            string[] header = lines[0].Split(',');
            int Column(string name) => Array.IndexOf(header, name);
            int detector = Column("Detector"), profile = Column("Profile"), file = Column("File"), threshold = Column("Threshold");
            int score = Column("Score"), tp = Column("TP"), tn = Column("TN"), fp = Column("FP"), fn = Column("FN");
            if (detector < 0 || file < 0 || score < 0)
            {
                continue;
            }

            foreach (string line in lines.Skip(1))
            {
                string[] f = line.Split(',');
                if (f.Length < header.Length || f[file].Equals("Totals", StringComparison.Ordinal) || f[file].Length == 0)
                {
                    continue;
                }

                rows.Add(new NabPublishedScore(
                    f[detector],
                    f[profile],
                    f[file],
                    double.Parse(f[threshold], NumberStyles.Float, CultureInfo.InvariantCulture),
                    double.Parse(f[score], NumberStyles.Float, CultureInfo.InvariantCulture),
                    int.Parse(f[tp], NumberStyles.Integer, CultureInfo.InvariantCulture),
                    int.Parse(f[tn], NumberStyles.Integer, CultureInfo.InvariantCulture),
                    int.Parse(f[fp], NumberStyles.Integer, CultureInfo.InvariantCulture),
                    int.Parse(f[fn], NumberStyles.Integer, CultureInfo.InvariantCulture)));
            }
        }

        return rows;
    }

    /// <summary>
    /// Finds a published detector output for <paramref name="relativePath"/>: <c>results/&lt;detector&gt;/&lt;category&gt;/&lt;detector&gt;_&lt;file&gt;</c>
    /// upstream, or <c>results/&lt;detector&gt;_&lt;file&gt;</c> in the dev subset.
    /// </summary>
    public static string? FindDetectorOutput(string root, string detector, string relativePath)
    {
        string category = Path.GetDirectoryName(relativePath) ?? string.Empty;
        string name = detector + "_" + Path.GetFileName(relativePath);
        string upstream = Path.Combine(root, "results", detector, category, name);
        if (File.Exists(upstream))
        {
            return upstream;
        }

        string flat = Path.Combine(root, "results", name);
        return File.Exists(flat) ? flat : null;
    }

    private static Dictionary<string, List<(DateTime Start, DateTime End)>> ReadWindows(string path)
    {
        var result = new Dictionary<string, List<(DateTime Start, DateTime End)>>(StringComparer.Ordinal);
        using JsonDocument document = JsonDocument.Parse(File.ReadAllText(path));
        foreach (JsonProperty file in document.RootElement.EnumerateObject())
        {
            var list = new List<(DateTime Start, DateTime End)>();
            foreach (JsonElement window in file.Value.EnumerateArray())
            {
                list.Add((ParseTimestamp(window[0].GetString()!), ParseTimestamp(window[1].GetString()!)));
            }

            result[file.Name] = list;
        }

        return result;
    }

    private static DateTime ParseTimestamp(string text)
    {
        ReadOnlySpan<char> trimmed = text.AsSpan().Trim();
        if (trimmed.Length > TimestampFormat.Length)
        {
            return DateTime.ParseExact(trimmed, "yyyy-MM-dd HH:mm:ss.ffffff", CultureInfo.InvariantCulture, DateTimeStyles.None);
        }

        return DateTime.ParseExact(trimmed, TimestampFormat, CultureInfo.InvariantCulture, DateTimeStyles.None);
    }

    private static int LowerBound(DateTime[] sorted, DateTime value)
    {
        int index = Array.BinarySearch(sorted, value);
        return index >= 0 ? index : ~index;
    }
}

/// <summary>Shell-style globs over relative paths: <c>*</c> within a segment, <c>**</c> across segments, <c>?</c> one character.</summary>
internal static class Glob
{
    public static bool Matches(string pattern, string path) => Match(pattern.AsSpan(), path.AsSpan());

    private static bool Match(ReadOnlySpan<char> pattern, ReadOnlySpan<char> text)
    {
        while (pattern.Length > 0)
        {
            char p = pattern[0];
            if (p == '*')
            {
                bool crossSegments = pattern.Length > 1 && pattern[1] == '*';
                ReadOnlySpan<char> rest = pattern[(crossSegments ? 2 : 1)..];
                for (int i = 0; i <= text.Length; i++)
                {
                    if (Match(rest, text[i..]))
                    {
                        return true;
                    }

                    if (i < text.Length && text[i] == '/' && !crossSegments)
                    {
                        return false;
                    }
                }

                return false;
            }

            if (text.Length == 0 || (p != '?' && p != text[0]) || (p == '?' && text[0] == '/'))
            {
                return false;
            }

            pattern = pattern[1..];
            text = text[1..];
        }

        return text.Length == 0;
    }
}
