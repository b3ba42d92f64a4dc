using System.Numerics;
using MathNet.Numerics.IntegralTransforms;
using ObservaCost.Analytics.TimeSeries.Internal;

namespace ObservaCost.Analytics.TimeSeries.Tests.Internal;

public sealed class SpectralBufferTests
{
    [Theory]
    [InlineData(7)]
    [InlineData(64)]
    [InlineData(69)]
    [InlineData(1029)]
    public void ForwardAndInverse_AnyLength_MatchMathNetMatlabConvention(int length)
    {
        var random = new Random(length);
        Complex[] input = Enumerable.Range(0, length).Select(_ => new Complex(random.NextDouble() - 0.5, random.NextDouble() - 0.5)).ToArray();
        var expected = (Complex[])input.Clone();
        Fourier.Forward(expected, FourierOptions.Matlab);
        var buffer = new SpectralBuffer();
        Complex[] data = buffer.Ensure(length);
        input.CopyTo(data, 0);

        buffer.Forward();
        for (int i = 0; i < length; i++)
        {
            Assert.True((data[i] - expected[i]).Magnitude < 1e-9 * length, $"bin {i}: {data[i]} vs {expected[i]}");
        }

        buffer.Inverse();
        for (int i = 0; i < length; i++)
        {
            Assert.True((data[i] - input[i]).Magnitude < 1e-12 * length, $"sample {i}");
        }
    }
}
