namespace ObservaCost.Analytics.TimeSeries.Anomaly;

/// <summary>How a <see cref="FuzzyArt"/> presentation ended.</summary>
internal enum ArtOutcome
{
    /// <summary>At least one category matched above the upper vigilance and learnt the input.</summary>
    Resonated,

    /// <summary>The best category matched between the two vigilances: the input became a new category of the same kind.</summary>
    NearMiss,

    /// <summary>No category matched above the lower vigilance (or learning was off): resonance failed.</summary>
    Mismatch,
}

/// <summary>The result of presenting one input: the outcome, the best match and its energy (last-value) similarity.</summary>
internal readonly record struct ArtMatch(ArtOutcome Outcome, double Similarity, double EnergySimilarity);

/// <summary>
/// A dual-vigilance Fuzzy ART network (Carpenter, Grossberg and Rosen 1991; dual vigilance after da Silva, Elnabarawy
/// and Wunsch 2019) over complement-coded inputs in [0, 1], with a fixed number of category slots so its memory is
/// bounded: when every slot is taken, a new category replaces the one that matched best least recently.
/// The match of category w to input x is (|x ∧ w|₁ / |w|₁)³ · e², where e is the same ratio over the input's last
/// feature and its complement only (how well the newest value fits); categories are visited from the best match down,
/// every one at or above the upper vigilance learns fast (w ← x ∧ w), and if none does, the best one at or above the
/// lower vigilance makes the input a new category. An uncommitted all-ones category seeds the network.
/// </summary>
internal sealed class FuzzyArt
{
    private readonly int _dimension;
    private readonly int _complementDimension;
    private readonly int _capacity;
    private readonly double[] _weights;
    private readonly double[] _weightNorms;
    private readonly long[] _lastUsed;
    private readonly double[] _match;
    private readonly double[] _energy;
    private readonly double[] _sortKeys;
    private readonly int[] _order;
    private readonly double[] _input;
    private long _presentations;

    public FuzzyArt(int dimension, int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(dimension, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(capacity, 2);
        _dimension = dimension;
        _complementDimension = 2 * dimension;
        _capacity = capacity;
        _weights = new double[capacity * _complementDimension];
        _weightNorms = new double[capacity];
        _lastUsed = new long[capacity];
        _match = new double[capacity];
        _energy = new double[capacity];
        _sortKeys = new double[capacity];
        _order = new int[capacity];
        _input = new double[_complementDimension];
    }

    public double LowerVigilance { get; set; }

    public double UpperVigilance { get; set; }

    /// <summary>Category slots.</summary>
    public int Capacity => _capacity;

    /// <summary>Categories committed so far (at most the capacity).</summary>
    public int Categories { get; private set; }

    /// <summary>Bytes of the weight matrix and the per-category scratch.</summary>
    public int StateBytes => (_weights.Length * sizeof(double)) + (_capacity * ((4 * sizeof(double)) + sizeof(long) + sizeof(int))) + (_input.Length * sizeof(double));

    /// <summary>Presents <paramref name="features"/> (each in [0, 1]); with <paramref name="learn"/> false nothing changes.</summary>
    public ArtMatch Present(ReadOnlySpan<double> features, bool learn)
    {
        _presentations++;
        for (int d = 0; d < _dimension; d++)
        {
            _input[d] = features[d];
            _input[_dimension + d] = 1 - features[d];
        }

        if (Categories == 0)
        {
            // The uncommitted category: all ones, which every input matches in proportion to its own size.
            _weights.AsSpan(0, _complementDimension).Fill(1);
            _weightNorms[0] = _complementDimension;
            _lastUsed[0] = _presentations;
            Categories = 1;
            return new ArtMatch(ArtOutcome.Mismatch, 0, 0);
        }

        int last = _dimension - 1;
        int lastComplement = _complementDimension - 1;
        for (int j = 0; j < Categories; j++)
        {
            ReadOnlySpan<double> w = _weights.AsSpan(j * _complementDimension, _complementDimension);
            double overlap = 0;
            for (int d = 0; d < _complementDimension; d++)
            {
                overlap += Math.Min(_input[d], w[d]);
            }

            double norm = _weightNorms[j] == 0 ? 0.001 : _weightNorms[j];
            double energyWeight = w[last] + w[lastComplement];
            double energy = energyWeight == 0 ? 0 : (Math.Min(_input[last], w[last]) + Math.Min(_input[lastComplement], w[lastComplement])) / energyWeight;
            double feature = overlap / norm;
            _match[j] = feature * feature * feature * energy * energy;
            _energy[j] = energy;
            _sortKeys[j] = -_match[j];
            _order[j] = j;
        }

        Array.Sort(_sortKeys, _order, 0, Categories);
        int best = _order[0];
        double similarity = Math.Max(0, _match[best]);
        double energyOfBest = _match[best] > 0 ? _energy[best] : 0;
        if (!learn)
        {
            return new ArtMatch(ArtOutcome.Mismatch, similarity, energyOfBest);
        }

        _lastUsed[best] = _presentations;
        bool resonated = false;
        for (int k = 0; k < Categories; k++)
        {
            int j = _order[k];
            if (_match[j] >= UpperVigilance)
            {
                Learn(j);
                resonated = true;
            }
            else
            {
                if (!resonated && _match[j] >= LowerVigilance)
                {
                    Commit();
                    return new ArtMatch(ArtOutcome.NearMiss, similarity, energyOfBest);
                }

                break;
            }
        }

        if (resonated)
        {
            return new ArtMatch(ArtOutcome.Resonated, similarity, energyOfBest);
        }

        Commit();
        return new ArtMatch(ArtOutcome.Mismatch, similarity, energyOfBest);
    }

    /// <summary>
    /// Maps features <paramref name="first"/> … <paramref name="first"/> + <paramref name="count"/> − 1 of every
    /// committed category through v ↦ scale·v + offset (scale &gt; 0): their lower bounds directly, their upper bounds
    /// (one minus the complement weights) likewise. Exact for a feature that is an increasing affine function of the input.
    /// </summary>
    public void RescaleFeatures(int first, int count, double scale, double offset)
    {
        for (int j = 1; j < Categories; j++)
        {
            Span<double> w = _weights.AsSpan(j * _complementDimension, _complementDimension);
            double norm = 0;
            for (int d = first; d < first + count; d++)
            {
                w[d] = Math.Clamp((scale * w[d]) + offset, 0, 1);
                w[_dimension + d] = Math.Clamp(1 - ((scale * (1 - w[_dimension + d])) + offset), 0, 1);
            }

            for (int d = 0; d < _complementDimension; d++)
            {
                norm += w[d];
            }

            _weightNorms[j] = norm;
        }
    }

    private void Learn(int category)
    {
        Span<double> w = _weights.AsSpan(category * _complementDimension, _complementDimension);
        double norm = 0;
        for (int d = 0; d < _complementDimension; d++)
        {
            w[d] = Math.Min(w[d], _input[d]);
            norm += w[d];
        }

        _weightNorms[category] = norm;
        _lastUsed[category] = _presentations;
    }

    private void Commit()
    {
        int slot = Categories;
        if (slot == _capacity)
        {
            slot = 1;
            for (int j = 2; j < _capacity; j++)
            {
                slot = _lastUsed[j] < _lastUsed[slot] ? j : slot;
            }
        }
        else
        {
            Categories++;
        }

        _input.CopyTo(_weights.AsSpan(slot * _complementDimension, _complementDimension));
        _weightNorms[slot] = _dimension; // |x| + |1 − x| = dimension for any complement-coded input
        _lastUsed[slot] = _presentations;
    }
}
