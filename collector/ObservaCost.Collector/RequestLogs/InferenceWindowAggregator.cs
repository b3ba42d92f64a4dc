using Microsoft.Extensions.Options;
using ObservaCost.Storage.Schema;

namespace ObservaCost.Collector.RequestLogs;

/// <summary>Settings of <see cref="InferenceWindowAggregator"/> (configuration section <c>Collector:RequestLogs:Aggregation</c>).</summary>
public sealed class InferenceWindowAggregatorOptions
{
    /// <summary>Window length; windows are aligned to the Unix epoch. Whole seconds, at least one.</summary>
    public TimeSpan WindowLength { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How long after its end a window stays open for late records.</summary>
    public TimeSpan AllowedLateness { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// The most (window, model, tenant, pool, node, status) groups open at once; records for new groups beyond it are
    /// rejected (by <see cref="RequestLogPipeline"/> in the ingest answer, before they are acknowledged).
    /// </summary>
    public int MaxOpenGroups { get; set; } = 10_000;

    /// <summary>Latency and TTFT values kept exactly per group before switching to the log histogram (see <see cref="QuantileEstimator"/>).</summary>
    public int ExactQuantileValues { get; set; } = 512;
}

/// <summary>Checks <see cref="InferenceWindowAggregatorOptions"/> and reports every failure, naming its key.</summary>
public sealed class InferenceWindowAggregatorOptionsValidator : IValidateOptions<InferenceWindowAggregatorOptions>
{
    public ValidateOptionsResult Validate(string? name, InferenceWindowAggregatorOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = new List<string>();
        if (options.WindowLength < TimeSpan.FromSeconds(1) || options.WindowLength.Ticks % TimeSpan.TicksPerSecond != 0)
        {
            failures.Add("Collector:RequestLogs:Aggregation:WindowLength must be a whole number of seconds, at least 1.");
        }

        if (options.AllowedLateness < TimeSpan.Zero)
        {
            failures.Add("Collector:RequestLogs:Aggregation:AllowedLateness must not be negative.");
        }

        if (options.MaxOpenGroups <= 0)
        {
            failures.Add("Collector:RequestLogs:Aggregation:MaxOpenGroups must be positive.");
        }

        if (options.ExactQuantileValues < 0)
        {
            failures.Add("Collector:RequestLogs:Aggregation:ExactQuantileValues must not be negative.");
        }

        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}

/// <summary>What <see cref="InferenceWindowAggregator.Add"/> did with a record.</summary>
public enum AggregationOutcome
{
    Accepted,

    /// <summary>The record's window was already closed (emitted); it is counted and dropped.</summary>
    RejectedLate,

    /// <summary>The record would open a group beyond <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/>.</summary>
    RejectedGroupLimit,
}

/// <summary>
/// Aggregates <see cref="InferenceRequest"/>s into <see cref="InferenceWindow"/>s per (window start, model, tenant,
/// pool, node, status class). Not thread-safe: one caller at a time (e.g. the single reader of a channel).
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item>Windows are <see cref="InferenceWindowAggregatorOptions.WindowLength"/> long, aligned to the Unix epoch.</item>
/// <item><see cref="Advance"/>(<c>now</c>) closes and returns every window whose end is at or before
/// <c>now − AllowedLateness</c>. <see cref="Flush"/> closes all (at shutdown).</item>
/// <item><b>Late records are rejected, not emitted as a second window.</b> A window is one point in the store, keyed
/// by its tags and start time, and the store overwrites a point written twice; a second, additive window would replace
/// the first instead of adding to it. A record whose window is closed is counted in <see cref="RejectedLateCount"/>.</item>
/// <item>At most <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/> groups are open; a record that would
/// open another is rejected (<see cref="RejectedGroupLimitCount"/>), records for open groups are still accepted.
/// A caller that must answer for a record before adding it (ingest) admits it first (<see cref="BeginAdmission"/>):
/// admitted groups count against the limit, and <see cref="AddAdmitted"/> never refuses them. Each
/// group holds two <see cref="QuantileEstimator"/>s, so memory is bounded by roughly
/// <c>MaxOpenGroups × 2 × max(8 × ExactQuantileValues, 5.5 KiB)</c> (about 110 MB at the defaults, in the worst case).</item>
/// <item>Status is grouped by <see cref="RequestStatus.Normalize"/>; <see cref="InferenceWindow.ErrorCount"/> counts
/// records that are not <see cref="RequestStatus.IsSuccess"/>.</item>
/// <item>Latency and TTFT statistics cover the records that logged them and are null when none did.</item>
/// </list>
/// </remarks>
public sealed class InferenceWindowAggregator
{
    private readonly InferenceWindowAggregatorOptions _options;
    private readonly long _windowTicks;
    private readonly Dictionary<GroupKey, GroupState> _groups = [];

    /// <summary>Groups admitted (<see cref="BeginAdmission"/>) and not opened yet: with the open ones, what counts against MaxOpenGroups.</summary>
    private readonly HashSet<GroupKey> _admitted = [];
    private long _closedBeforeTicks = long.MinValue;

    public InferenceWindowAggregator(InferenceWindowAggregatorOptions? options = null)
    {
        _options = options ?? new InferenceWindowAggregatorOptions();
        ValidateOptionsResult validation = new InferenceWindowAggregatorOptionsValidator().Validate(null, _options);
        if (validation.Failed)
        {
            throw new OptionsValidationException(nameof(InferenceWindowAggregatorOptions), typeof(InferenceWindowAggregatorOptions), validation.Failures);
        }

        _windowTicks = _options.WindowLength.Ticks;
    }

    public long AcceptedCount { get; private set; }

    public long RejectedLateCount { get; private set; }

    public long RejectedGroupLimitCount { get; private set; }

    public int OpenGroupCount => _groups.Count;

    /// <summary>Windows starting before this are closed; null before the first close.</summary>
    public DateTimeOffset? ClosedBefore => _closedBeforeTicks == long.MinValue ? null : new DateTimeOffset(_closedBeforeTicks, TimeSpan.Zero);

    /// <summary>The start of the window holding <paramref name="time"/>.</summary>
    public DateTimeOffset WindowStartOf(DateTimeOffset time) => new(AlignDown(time.UtcTicks), TimeSpan.Zero);

    public AggregationOutcome Add(InferenceRequest request) => AddCore(request, admitted: false);

    /// <summary>
    /// Adds a record that was admitted before (<see cref="BeginAdmission"/>), or read back from a journal of admitted
    /// records: never refused for the group limit (a lower limit after a restart does not drop what was acknowledged).
    /// </summary>
    public AggregationOutcome AddAdmitted(InferenceRequest request) => AddCore(request, admitted: true);

    /// <summary>Starts admitting a batch of records; nothing counts until <see cref="Admission.Commit"/>.</summary>
    public Admission BeginAdmission() => new(this);

    private AggregationOutcome AddCore(InferenceRequest request, bool admitted)
    {
        ArgumentNullException.ThrowIfNull(request);
        long start = AlignDown(request.Timestamp.UtcTicks);
        if (start < _closedBeforeTicks)
        {
            RejectedLateCount++;
            return AggregationOutcome.RejectedLate;
        }

        GroupKey key = KeyOf(start, request);
        if (!_groups.TryGetValue(key, out GroupState? state))
        {
            bool wasAdmitted = _admitted.Count > 0 && _admitted.Remove(key);
            if (!admitted && !wasAdmitted && _groups.Count + _admitted.Count >= _options.MaxOpenGroups)
            {
                RejectedGroupLimitCount++;
                return AggregationOutcome.RejectedGroupLimit;
            }

            state = new GroupState();
            _groups.Add(key, state);
        }

        state.Add(request, _options.ExactQuantileValues);
        AcceptedCount++;
        return AggregationOutcome.Accepted;
    }

    /// <summary>
    /// Marks windows starting before <paramref name="closedBefore"/> as already closed (after a restart, from the
    /// watermark saved when they were emitted): records for them are rejected as late.
    /// </summary>
    public void RestoreClosedBefore(DateTimeOffset closedBefore) =>
        _closedBeforeTicks = Math.Max(_closedBeforeTicks, AlignDown(closedBefore.UtcTicks));

    /// <summary>Closes and returns the windows that end at or before <c>now − AllowedLateness</c>, oldest first.</summary>
    public IReadOnlyList<InferenceWindow> Advance(DateTimeOffset now)
    {
        long cutoff = AlignDown((now - _options.AllowedLateness).UtcTicks);
        if (cutoff <= _closedBeforeTicks)
        {
            return [];
        }

        _closedBeforeTicks = cutoff;
        _admitted.RemoveWhere(key => key.StartTicks < cutoff);
        return Close(key => key.StartTicks < cutoff);
    }

    /// <summary>Closes and returns every open window (at shutdown); later records for them are rejected as late.</summary>
    public IReadOnlyList<InferenceWindow> Flush()
    {
        foreach (GroupKey key in _groups.Keys)
        {
            _closedBeforeTicks = Math.Max(_closedBeforeTicks, key.StartTicks + _windowTicks);
        }

        _admitted.Clear();
        return Close(_ => true);
    }

    private List<InferenceWindow> Close(Func<GroupKey, bool> due)
    {
        var closing = new List<KeyValuePair<GroupKey, GroupState>>();
        foreach (KeyValuePair<GroupKey, GroupState> group in _groups)
        {
            if (due(group.Key))
            {
                closing.Add(group);
            }
        }

        closing.Sort(static (a, b) => a.Key.CompareTo(b.Key));
        var windows = new List<InferenceWindow>(closing.Count);
        foreach ((GroupKey key, GroupState state) in closing)
        {
            _groups.Remove(key);
            windows.Add(state.ToWindow(key, _options.WindowLength));
        }

        return windows;
    }

    private static GroupKey KeyOf(long startTicks, InferenceRequest request) =>
        new(startTicks, request.Model, request.Tenant, request.Pool, request.Node, RequestStatus.Normalize(request.Status), request.Dataset);

    /// <summary>
    /// Admits records before they are acknowledged: a record whose group is open or admitted is admitted; a record
    /// that would add a group beyond <see cref="InferenceWindowAggregatorOptions.MaxOpenGroups"/> is not. The groups
    /// admitted count only after <see cref="Commit"/> (call it once the records are durable).
    /// </summary>
    public sealed class Admission
    {
        private readonly InferenceWindowAggregator _owner;
        private readonly HashSet<GroupKey> _pending = [];

        internal Admission(InferenceWindowAggregator owner) => _owner = owner;

        /// <summary>True if the record's group is open, admitted, or fits under the limit (and is now pending).</summary>
        public bool TryAdmit(InferenceRequest request)
        {
            ArgumentNullException.ThrowIfNull(request);
            GroupKey key = KeyOf(_owner.AlignDown(request.Timestamp.UtcTicks), request);
            if (_owner._groups.ContainsKey(key) || _owner._admitted.Contains(key) || _pending.Contains(key))
            {
                return true;
            }

            if (_owner._groups.Count + _owner._admitted.Count + _pending.Count >= _owner._options.MaxOpenGroups)
            {
                return false;
            }

            _pending.Add(key);
            return true;
        }

        /// <summary>Counts the groups admitted (unless their windows closed or they opened meanwhile).</summary>
        public void Commit()
        {
            foreach (GroupKey key in _pending)
            {
                if (key.StartTicks >= _owner._closedBeforeTicks && !_owner._groups.ContainsKey(key))
                {
                    _owner._admitted.Add(key);
                }
            }

            _pending.Clear();
        }
    }

    private long AlignDown(long utcTicks)
    {
        long sinceEpoch = utcTicks - DateTimeOffset.UnixEpoch.UtcTicks;
        long remainder = sinceEpoch % _windowTicks;
        if (remainder < 0)
        {
            remainder += _windowTicks;
        }

        return utcTicks - remainder;
    }

    private readonly record struct GroupKey(long StartTicks, string Model, string? Tenant, string? Pool, string? Node, string? Status, string? Dataset)
        : IComparable<GroupKey>
    {
        public int CompareTo(GroupKey other)
        {
            int c = StartTicks.CompareTo(other.StartTicks);
            c = c != 0 ? c : string.CompareOrdinal(Model, other.Model);
            c = c != 0 ? c : string.CompareOrdinal(Tenant, other.Tenant);
            c = c != 0 ? c : string.CompareOrdinal(Pool, other.Pool);
            c = c != 0 ? c : string.CompareOrdinal(Node, other.Node);
            c = c != 0 ? c : string.CompareOrdinal(Status, other.Status);
            return c != 0 ? c : string.CompareOrdinal(Dataset, other.Dataset);
        }
    }

    private sealed class GroupState
    {
        private long _requests;
        private long _errors;
        private long _promptTokens;
        private long _completionTokens;
        private double _latencySumMs;
        private double _latencyMaxMs;
        private QuantileEstimator? _latency;
        private QuantileEstimator? _timeToFirstToken;

        public void Add(InferenceRequest request, int exactValues)
        {
            _requests++;
            if (!RequestStatus.IsSuccess(request.Status))
            {
                _errors++;
            }

            _promptTokens += request.PromptTokens;
            _completionTokens += request.CompletionTokens;
            if (request.LatencyMs is double latency)
            {
                _latency ??= new QuantileEstimator(exactValues);
                _latency.Add(latency);
                _latencySumMs += latency;
                _latencyMaxMs = Math.Max(_latencyMaxMs, latency);
            }

            if (request.TimeToFirstTokenMs is double ttft)
            {
                _timeToFirstToken ??= new QuantileEstimator(exactValues);
                _timeToFirstToken.Add(ttft);
            }
        }

        public InferenceWindow ToWindow(GroupKey key, TimeSpan length) => new()
        {
            WindowStart = new DateTimeOffset(key.StartTicks, TimeSpan.Zero),
            WindowLength = length,
            Model = key.Model,
            Tenant = key.Tenant,
            Pool = key.Pool,
            Node = key.Node,
            Status = key.Status,
            Dataset = key.Dataset,
            RequestCount = _requests,
            ErrorCount = _errors,
            PromptTokens = _promptTokens,
            CompletionTokens = _completionTokens,
            LatencySumMs = _latency is null ? null : _latencySumMs,
            LatencyMaxMs = _latency is null ? null : _latencyMaxMs,
            LatencyP50Ms = _latency?.Quantile(0.50),
            LatencyP95Ms = _latency?.Quantile(0.95),
            LatencyP99Ms = _latency?.Quantile(0.99),
            TimeToFirstTokenP50Ms = _timeToFirstToken?.Quantile(0.50),
            TimeToFirstTokenP95Ms = _timeToFirstToken?.Quantile(0.95),
            TimeToFirstTokenP99Ms = _timeToFirstToken?.Quantile(0.99),
        };
    }
}
