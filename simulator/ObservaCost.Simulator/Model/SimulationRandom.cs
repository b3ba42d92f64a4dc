namespace ObservaCost.Simulator.Model;

/// <summary>
/// Counter-based randomness: every draw is a hash of (seed, stream, a, b), so a value depends only on what it
/// describes (a GPU's minute, a model's request), never on the order of earlier draws. History and live, or a run
/// with another step, draw the same numbers for the same thing.
/// </summary>
internal readonly struct SimulationRandom(long seed)
{
    private readonly ulong _seed = (ulong)seed;

    /// <summary>A uniform double in [0, 1).</summary>
    public double Uniform(ulong stream, long a, long b = 0) => (Hash(stream, a, b) >> 11) * (1.0 / (1UL << 53));

    /// <summary>A uniform double in [-1, 1).</summary>
    public double Signed(ulong stream, long a, long b = 0) => (2 * Uniform(stream, a, b)) - 1;

    public ulong Hash(ulong stream, long a, long b = 0) =>
        Mix(Mix(Mix(_seed ^ (stream * 0x9E3779B97F4A7C15UL)) ^ (ulong)a) ^ ((ulong)b * 0xC2B2AE3D27D4EB4FUL));

    /// <summary>Stable stream id of a name (FNV-1a), so adding a model does not move another's draws.</summary>
    public static ulong StreamOf(string name)
    {
        ulong h = 14695981039346656037UL;
        foreach (char c in name)
        {
            h = (h ^ c) * 1099511628211UL;
        }

        return h;
    }

    private static ulong Mix(ulong z)
    {
        // SplitMix64's finaliser.
        z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9UL;
        z = (z ^ (z >> 27)) * 0x94D049BB133111EBUL;
        return z ^ (z >> 31);
    }
}
