using System.Text;

namespace ObservaCost.Collector.Scraping;

/// <summary>
/// Turns UTF-8 byte spans into strings, handing back the same string for the same bytes, so names and label values
/// repeated on a page (and across pages of the same target) are decoded and allocated once. Bounded: when it holds
/// <c>capacity</c> strings it starts afresh. Not thread-safe.
/// </summary>
internal sealed class Utf8StringPool
{
    private readonly HashSet<string> _strings;
    private readonly HashSet<string>.AlternateLookup<ReadOnlySpan<byte>> _lookup;
    private readonly int _capacity;

    public Utf8StringPool(int capacity)
    {
        _capacity = capacity;
        _strings = new HashSet<string>(Utf8Comparer.Instance);
        _lookup = _strings.GetAlternateLookup<ReadOnlySpan<byte>>();
    }

    public int Count => _strings.Count;

    public string Get(ReadOnlySpan<byte> utf8)
    {
        if (utf8.IsEmpty)
        {
            return string.Empty;
        }

        if (_lookup.TryGetValue(utf8, out string? existing))
        {
            return existing;
        }

        string created = Encoding.UTF8.GetString(utf8);
        if (_capacity == 0)
        {
            return created;
        }

        if (_strings.Count >= _capacity)
        {
            _strings.Clear();
        }

        _strings.Add(created);
        return created;
    }
}

/// <summary>Compares strings ordinally and hashes them by their UTF-8 bytes, so a byte span finds its string.</summary>
internal sealed class Utf8Comparer : IEqualityComparer<string>, IAlternateEqualityComparer<ReadOnlySpan<byte>, string>
{
    public static readonly Utf8Comparer Instance = new();

    private const int StackLimit = 512;

    public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

    public int GetHashCode(string obj)
    {
        int max = Encoding.UTF8.GetMaxByteCount(obj.Length);
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : new byte[max];
        int written = Encoding.UTF8.GetBytes(obj, buffer);
        return Hash(buffer[..written]);
    }

    public bool Equals(ReadOnlySpan<byte> alternate, string other)
    {
        if (alternate.Length < other.Length)
        {
            return false;
        }

        if (alternate.Length == other.Length && System.Text.Ascii.Equals(alternate, other))
        {
            return true;
        }

        int max = Encoding.UTF8.GetMaxByteCount(other.Length);
        Span<byte> buffer = max <= StackLimit ? stackalloc byte[StackLimit] : new byte[max];
        int written = Encoding.UTF8.GetBytes(other, buffer);
        return alternate.SequenceEqual(buffer[..written]);
    }

    public int GetHashCode(ReadOnlySpan<byte> alternate) => Hash(alternate);

    public string Create(ReadOnlySpan<byte> alternate) => Encoding.UTF8.GetString(alternate);

    private static int Hash(ReadOnlySpan<byte> bytes)
    {
        var hash = default(HashCode);
        hash.AddBytes(bytes);
        return hash.ToHashCode();
    }
}
