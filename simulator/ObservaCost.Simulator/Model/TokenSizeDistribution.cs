namespace ObservaCost.Simulator.Model;

/// <summary>Which real traffic a served model's request sizes are drawn like.</summary>
public enum TokenProfile
{
    /// <summary>Chat: the Azure LLM inference trace 2023, conversation service (AzureLLMInferenceTrace_conv.csv, 19,366 requests).</summary>
    Conversation,

    /// <summary>Code completion: the Azure LLM inference trace 2023, code service (AzureLLMInferenceTrace_code.csv, 8,819 requests).</summary>
    Code,
}

/// <summary>
/// Prompt and completion sizes drawn from the empirical quantile functions of the Azure LLM inference traces 2023
/// (../shared/data/llm-traces/azure-llm-inference-2023: <c>ContextTokens</c> and <c>GeneratedTokens</c>). The
/// quantile function is kept at 31 probabilities (<see cref="Probabilities"/>, the knots computed from the CSVs with
/// linear interpolation between order statistics) and sampled by inverse transform, interpolating linearly between
/// knots; the result is rounded to a whole token, at least 1. The knots are data, not a fitted shape: the traces'
/// steps (the code prompts' 7,436-token ceiling, the chat prompts' modes near 400 and 1,000) survive.
/// </summary>
public sealed class TokenSizeDistribution
{
    /// <summary>The probabilities (%) at which the quantile functions are kept.</summary>
    public static readonly double[] Probabilities =
        [0, 0.5, 1, 2.5, 5, 7.5, 10, 15, 20, 25, 30, 35, 40, 45, 50, 55, 60, 65, 70, 75, 80, 85, 90, 92.5, 95, 97.5, 98, 99, 99.5, 99.9, 100];

    // AzureLLMInferenceTrace_conv.csv: p10 207, p50 1020, p90 2734.5, p99 4142 prompt tokens; p10 54, p50 129, p90 424, p99 601 completion tokens.
    private static readonly double[] ConversationPrompt =
        [2, 16.8, 29, 120, 181, 200, 207, 372, 387, 396, 403, 414, 703, 984, 1020, 1045, 1071, 1097, 1130, 1189, 1315, 1876.2, 2734.5, 4075, 4083, 4092, 4098, 4142, 4831, 6179.2, 14050];

    private static readonly double[] ConversationCompletion =
        [7, 14, 16, 28, 41, 48, 54, 67, 77, 85, 91, 96, 103, 113, 129, 151, 177, 217, 384, 395, 400, 411, 424, 430, 451, 522, 540, 601, 643.2, 954, 1000];

    // AzureLLMInferenceTrace_code.csv: p10 147, p50 1469, p90 5187.6, p99 7436 prompt tokens; p10 7, p50 13, p90 55, p99 251.5 completion tokens.
    private static readonly double[] CodePrompt =
        [3, 12, 17, 44, 75, 102.4, 147, 232, 385.6, 578, 770, 938.6, 1075, 1261.1, 1469, 1690, 1909, 2163.7, 2433, 2744.5, 3192.4, 3920.2, 5187.6, 6097, 7303.3, 7435, 7436, 7436, 7436, 7437, 7437];

    private static readonly double[] CodeCompletion =
        [6, 6, 6, 6, 6, 6, 7, 7, 8, 9, 9, 10, 11, 12, 13, 14, 16, 18, 20, 24, 29, 39, 55, 69, 90, 145, 170.9, 251.5, 359.4, 825.3, 1899];

    private readonly double[] _prompt;
    private readonly double[] _completion;

    private TokenSizeDistribution(double[] prompt, double[] completion)
    {
        _prompt = prompt;
        _completion = completion;
    }

    public static TokenSizeDistribution Conversation { get; } = new(ConversationPrompt, ConversationCompletion);

    public static TokenSizeDistribution Code { get; } = new(CodePrompt, CodeCompletion);

    public static TokenSizeDistribution For(TokenProfile profile) => profile == TokenProfile.Code ? Code : Conversation;

    /// <summary>A prompt size for the uniform draw <paramref name="u"/> in [0, 1).</summary>
    public int PromptTokens(double u) => Sample(_prompt, u);

    /// <summary>A completion size for the uniform draw <paramref name="u"/> in [0, 1).</summary>
    public int CompletionTokens(double u) => Sample(_completion, u);

    private static int Sample(double[] knots, double u)
    {
        double p = Math.Clamp(u, 0, 1) * 100;
        int i = Array.BinarySearch(Probabilities, p);
        double value;
        if (i >= 0)
        {
            value = knots[i];
        }
        else
        {
            int hi = ~i;
            int lo = hi - 1;
            double f = (p - Probabilities[lo]) / (Probabilities[hi] - Probabilities[lo]);
            value = knots[lo] + (f * (knots[hi] - knots[lo]));
        }

        return Math.Max(1, (int)Math.Round(value, MidpointRounding.AwayFromZero));
    }
}
