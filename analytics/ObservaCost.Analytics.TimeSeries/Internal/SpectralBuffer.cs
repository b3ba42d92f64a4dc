using System.Numerics;
using MathNet.Numerics.IntegralTransforms;

namespace ObservaCost.Analytics.TimeSeries.Internal;

/// <summary>
/// A reusable complex buffer and FFT plan for one length, with MathNet's <see cref="FourierOptions.Matlab"/>
/// convention (unscaled forward, 1/N inverse; tests compare against MathNet). Powers of two use an iterative radix-2
/// transform with its twiddles and bit-reversal table computed once. Other lengths (SR's windows are N + 5) use
/// Bluestein's chirp-z algorithm with the chirp and its kernel spectrum computed once, so a transform is two
/// power-of-two FFTs. Nothing is allocated per transform — MathNet's own paths allocate on every call (about
/// 50 KB per 1024-point SR batch) and were twice as slow.
/// </summary>
internal sealed class SpectralBuffer
{
    private Complex[] _data = [];
    private Radix2Plan? _radix2;
    private BluesteinPlan? _plan;

    public Complex[] Data => _data;

    public Complex[] Ensure(int length)
    {
        if (_data.Length != length)
        {
            _data = new Complex[length];
            bool pow2 = BitOperations.IsPow2(length);
            _radix2 = pow2 ? new Radix2Plan(length) : null;
            _plan = pow2 ? null : new BluesteinPlan(length);
        }

        return _data;
    }

    public void Forward()
    {
        if (_radix2 is not null)
        {
            _radix2.Forward(_data);
        }
        else
        {
            _plan!.Forward(_data);
        }
    }

    public void Inverse()
    {
        // Inverse DFT = conj(DFT(conj(x))) / N.
        Span<Complex> data = _data;
        Conjugate(data, 1.0);
        Forward();
        Conjugate(data, 1.0 / data.Length);
    }

    private static void Conjugate(Span<Complex> data, double scale)
    {
        for (int i = 0; i < data.Length; i++)
        {
            data[i] = new Complex(data[i].Real * scale, -data[i].Imaginary * scale);
        }
    }

    /// <summary>In-place iterative radix-2 decimation-in-time FFT (e^{−2πijk/N}, unscaled).</summary>
    private sealed class Radix2Plan
    {
        private readonly int[] _reverse;
        private readonly Complex[] _twiddles;

        public Radix2Plan(int length)
        {
            int bits = BitOperations.Log2((uint)length);
            _reverse = new int[length];
            for (int i = 0; i < length; i++)
            {
                _reverse[i] = (int)(ReverseBits((uint)i) >> (32 - bits));
            }

            if (length == 1)
            {
                _reverse[0] = 0;
            }

            _twiddles = new Complex[Math.Max(1, length / 2)];
            for (int k = 0; k < length / 2; k++)
            {
                _twiddles[k] = Complex.FromPolarCoordinates(1, -2 * Math.PI * k / length);
            }
        }

        public void Forward(Span<Complex> data)
        {
            int n = data.Length;
            for (int i = 0; i < n; i++)
            {
                int j = _reverse[i];
                if (j > i)
                {
                    (data[i], data[j]) = (data[j], data[i]);
                }
            }

            for (int size = 2; size <= n; size <<= 1)
            {
                int half = size >> 1;
                int step = n / size;
                for (int start = 0; start < n; start += size)
                {
                    for (int k = 0; k < half; k++)
                    {
                        Complex t = _twiddles[k * step] * data[start + k + half];
                        Complex u = data[start + k];
                        data[start + k] = u + t;
                        data[start + k + half] = u - t;
                    }
                }
            }
        }

        private static uint ReverseBits(uint value)
        {
            value = ((value >> 1) & 0x55555555u) | ((value & 0x55555555u) << 1);
            value = ((value >> 2) & 0x33333333u) | ((value & 0x33333333u) << 2);
            value = ((value >> 4) & 0x0F0F0F0Fu) | ((value & 0x0F0F0F0Fu) << 4);
            value = ((value >> 8) & 0x00FF00FFu) | ((value & 0x00FF00FFu) << 8);
            return (value >> 16) | (value << 16);
        }
    }

    /// <summary>X_j = w_j · Σ_k (x_k w_k) · conj(w_{j−k}) with w_k = e^{−iπk²/N}: a circular convolution of length M ≥ 2N − 1.</summary>
    private sealed class BluesteinPlan
    {
        private readonly int _length;
        private readonly Complex[] _chirp;
        private readonly Complex[] _kernelSpectrum;
        private readonly Complex[] _work;
        private readonly Radix2Plan _fft;

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

            _fft = new Radix2Plan(m);
            _fft.Forward(_kernelSpectrum);
            _work = new Complex[m];
        }

        public void Forward(Complex[] data)
        {
            Array.Clear(_work);
            for (int k = 0; k < _length; k++)
            {
                _work[k] = data[k] * _chirp[k];
            }

            _fft.Forward(_work);

            // Multiply by the kernel spectrum and conjugate, so the forward transform below is the inverse one.
            for (int i = 0; i < _work.Length; i++)
            {
                _work[i] = Complex.Conjugate(_work[i] * _kernelSpectrum[i]);
            }

            _fft.Forward(_work);
            double scale = 1.0 / _work.Length;
            for (int j = 0; j < _length; j++)
            {
                data[j] = Complex.Conjugate(_work[j]) * _chirp[j] * scale;
            }
        }
    }
}
