using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace ObservaCost.Analytics.TimeSeries.Internal;

/// <summary>
/// A reusable complex buffer for MathNet's FFT, which transforms a whole array in place: the array is reallocated only
/// when the length changes, so repeated transforms of equal length (SR batches, a streaming window) do not allocate
/// a buffer of their own. Convention: unscaled forward, 1/N inverse (<see cref="FourierOptions.Matlab"/>).
/// </summary>
internal sealed class SpectralBuffer
{
    private Complex[] _data = [];

    public Complex[] Data => _data;

    public Complex[] Ensure(int length)
    {
        if (_data.Length != length)
        {
            _data = new Complex[length];
        }

        return _data;
    }

    public void Forward() => Fourier.Forward(_data, FourierOptions.Matlab);

    public void Inverse() => Fourier.Inverse(_data, FourierOptions.Matlab);
}
