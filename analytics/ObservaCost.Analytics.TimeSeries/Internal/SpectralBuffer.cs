using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace ObservaCost.Analytics.TimeSeries.Internal;

/// <summary>
/// A reusable complex buffer and FFT plan for one length. Convention: unscaled forward, 1/N inverse (MathNet's
/// <see cref="FourierOptions.Matlab"/>). Powers of two go straight to MathNet's in-place radix-2 transform. Other
/// lengths (SR's windows are N + 5) use Bluestein's chirp-z algorithm with the chirp and the spectrum of its
/// convolution kernel computed once per length, so each transform is two power-of-two FFTs and no allocation —
/// MathNet's own Bluestein path rebuilds both and allocates on every call.
/// </summary>
internal sealed class SpectralBuffer
{
    private Complex[] _data = [];
    private BluesteinPlan? _plan;

    public Complex[] Data => _data;

    public Complex[] Ensure(int length)
    {
        if (_data.Length != length)
        {
            _data = new Complex[length];
            _plan = BitOperations.IsPow2(length) ? null : new BluesteinPlan(length);
        }

        return _data;
    }

    public void Forward()
    {
        if (_plan is null)
        {
            Fourier.Forward(_data, FourierOptions.Matlab);
        }
        else
        {
            _plan.Forward(_data);
        }
    }

    public void Inverse()
    {
        if (_plan is null)
        {
            Fourier.Inverse(_data, FourierOptions.Matlab);
            return;
        }

        // Inverse DFT = conj(DFT(conj(x))) / N.
        Span<Complex> data = _data;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Complex.Conjugate(data[i]);
        }

        _plan.Forward(_data);
        double scale = 1.0 / data.Length;
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = Complex.Conjugate(data[i]) * scale;
        }
    }

    /// <summary>X_j = w_j · Σ_k (x_k w_k) · conj(w_{j−k}) with w_k = e^{−iπk²/N}: a circular convolution of length M ≥ 2N − 1.</summary>
    private sealed class BluesteinPlan
    {
        private readonly int _length;
        private readonly Complex[] _chirp;
        private readonly Complex[] _kernelSpectrum;
        private readonly Complex[] _work;

        public BluesteinPlan(int length)
        {
            _length = length;
            int m = (int)BitOperations.RoundUpToPowerOf2((uint)((2 * length) - 1));
            _chirp = new Complex[length];
            for (int k = 0; k < length; k++)
            {
                // k² mod 2N keeps the angle exact for large k.
                long squared = (long)k * k % (2L * length);
                _chirp[k] = Complex.FromPolarCoordinates(1, -Math.PI * squared / length);
            }

            _kernelSpectrum = new Complex[m];
            _kernelSpectrum[0] = Complex.Conjugate(_chirp[0]);
            for (int k = 1; k < length; k++)
            {
                _kernelSpectrum[k] = Complex.Conjugate(_chirp[k]);
                _kernelSpectrum[m - k] = Complex.Conjugate(_chirp[k]);
            }

            Fourier.Forward(_kernelSpectrum, FourierOptions.NoScaling);
            _work = new Complex[m];
        }

        public void Forward(Complex[] data)
        {
            Array.Clear(_work);
            for (int k = 0; k < _length; k++)
            {
                _work[k] = data[k] * _chirp[k];
            }

            Fourier.Forward(_work, FourierOptions.NoScaling);
            for (int i = 0; i < _work.Length; i++)
            {
                _work[i] *= _kernelSpectrum[i];
            }

            Fourier.Inverse(_work, FourierOptions.NoScaling);
            double scale = 1.0 / _work.Length;
            for (int j = 0; j < _length; j++)
            {
                data[j] = _work[j] * _chirp[j] * scale;
            }
        }
    }
}
