namespace ObservaCost.Storage.Schema;

/// <summary>
/// One rule, for every source (dcgm-exporter <c>modelName</c>, nvidia-smi <c>name</c>, Telegraf <c>name</c>, OTLP
/// <c>hw.model</c>, AMD), from a GPU's marketing name to the canonical key stored as <c>gpu_model</c> and looked up in
/// the pricing file; the full name is kept as the field <c>gpu_name</c>. The rule (docs/collector.md):
/// drop the vendor and brand words (NVIDIA, AMD, Tesla, Instinct, GeForce, Quadro); then, if the first word is a
/// series word (RTX, GTX, TITAN), the key is it and the next word ("RTX 3080", "TITAN V"); otherwise the key is the
/// first word cut at its first '-' ("H100 80GB HBM3" → "H100", "A100-SXM4-80GB" → "A100", "MI300X"). A name with
/// nothing left after the brand words is kept as given, trimmed; one whose first word has no digit keeps all its words
/// ("Graphics Device").
/// </summary>
public static class GpuModelName
{
    private static readonly string[] BrandWords = ["NVIDIA", "AMD", "Tesla", "Instinct", "GeForce", "Quadro"];
    private static readonly string[] SeriesWords = ["RTX", "GTX", "TITAN"];

    /// <summary>The canonical key of <paramref name="name"/>; null for null or blank.</summary>
    public static string? Canonical(string? name)
    {
        if (string.IsNullOrWhiteSpace(name))
        {
            return null;
        }

        string[] words = name.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        int first = 0;
        while (first < words.Length && BrandWords.Contains(words[first], StringComparer.OrdinalIgnoreCase))
        {
            first++;
        }

        if (first == words.Length)
        {
            return name.Trim();
        }

        if (SeriesWords.Contains(words[first], StringComparer.OrdinalIgnoreCase) && first + 1 < words.Length)
        {
            return words[first].ToUpperInvariant() + " " + words[first + 1];
        }

        string head = words[first];
        if (!head.Any(char.IsAsciiDigit))
        {
            return string.Join(' ', words[first..]);
        }

        int dash = head.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 ? head[..dash] : head;
    }
}
