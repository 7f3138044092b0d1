using System.Numerics;
using MnistNet.LinearAlgebra;

namespace MnistNet.TestSupport;

/// <summary>
/// The image layers' equations as plain loops over (example, channel, row, column), in double, each output with the sum
/// of its terms' absolute values (for the (k + 2)·ε·Σ|terms| bound the fast layers are held to). The oracle of
/// <c>Conv2D</c> and <c>MaxPool2D</c>; nothing in the library calls it.
/// </summary>
public static class ReferenceLayers
{
    /// <summary>The shape of a convolution: C × H × W in, O channels out, k × k kernels, <paramref name="Pad"/> zeros on each side.</summary>
    public sealed record ConvShape(int C, int H, int W, int O, int K, int Pad)
    {
        /// <summary>Gets the output height.</summary>
        public int OutH => H + (2 * Pad) - K + 1;

        /// <summary>Gets the output width.</summary>
        public int OutW => W + (2 * Pad) - K + 1;

        /// <summary>X[c, y, x] of example j, 0 outside the image.</summary>
        public double Input<T>(Matrix<T> x, int c, int y, int xx, int j)
            where T : unmanaged, IFloatingPointIeee754<T> =>
            y < 0 || y >= H || xx < 0 || xx >= W ? 0 : double.CreateTruncating(x[(((c * H) + y) * W) + xx, j]);
    }

    /// <summary>Y = conv(X, W) + b: values and Σ|terms| (outputs O·H'·W' × m).</summary>
    public static (double[,] Value, double[,] Magnitude) ConvForward<T>(ConvShape s, Matrix<T> x, Matrix<T> weight, Matrix<T> bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = x.Columns;
        var value = new double[s.O * s.OutH * s.OutW, m];
        var magnitude = new double[s.O * s.OutH * s.OutW, m];
        for (int j = 0; j < m; j++)
        {
            for (int o = 0; o < s.O; o++)
            {
                for (int y = 0; y < s.OutH; y++)
                {
                    for (int xx = 0; xx < s.OutW; xx++)
                    {
                        double b = double.CreateTruncating(bias[o, 0]);
                        double sum = b, abs = Math.Abs(b);
                        for (int c = 0; c < s.C; c++)
                        {
                            for (int i = 0; i < s.K; i++)
                            {
                                for (int k = 0; k < s.K; k++)
                                {
                                    double term = double.CreateTruncating(weight[o, (((c * s.K) + i) * s.K) + k]) * s.Input(x, c, y + i - s.Pad, xx + k - s.Pad, j);
                                    sum += term;
                                    abs += Math.Abs(term);
                                }
                            }
                        }

                        int row = (((o * s.OutH) + y) * s.OutW) + xx;
                        value[row, j] = sum;
                        magnitude[row, j] = abs;
                    }
                }
            }
        }

        return (value, magnitude);
    }

    /// <summary>
    /// The magnitude that bounds Winograd's rounding (F(4 × 4, 3 × 3) and F(2 × 2, 5 × 5) on 6 × 6 tiles, the points
    /// 0, ±1, ±2, ∞): for each output, |b| + Σ_c Σ_ξν |Aᵀ|_qξ |Aᵀ|_rν (|G| |g| |G|ᵀ)_ξν (|Bᵀ| |d| |B|)_ξν, d the input
    /// tile under the output's tile. Each transformed value is computed with a few roundings, each product sum with C,
    /// and the output transform with a few more, so |error| ≤ (C + 16)·ε·magnitude to first order — the bound the direct
    /// sum's Σ|terms| gives, with the transforms' coefficients (up to 5 in Bᵀ, 8 in Aᵀ) inside the absolute values.
    /// </summary>
    public static double[,] WinogradMagnitude<T>(ConvShape s, Matrix<T> x, Matrix<T> weight, Matrix<T>? bias)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] points = [0, 1, -1, 2, -2];
        double[] scales = [4, -6, -6, 24, 24];
        int tileSide = 7 - s.K;
        var g = new double[6, s.K];
        var at = new double[tileSide, 6];
        for (int a = 0; a < 6; a++)
        {
            for (int i = 0; i < s.K; i++)
            {
                g[a, i] = a == 5 ? (i == s.K - 1 ? 1 : 0) : Math.Pow(points[a], i) / scales[a];
            }

            for (int q = 0; q < tileSide; q++)
            {
                at[q, a] = a == 5 ? (q == tileSide - 1 ? 1 : 0) : Math.Pow(points[a], q);
            }
        }

        int m = x.Columns;
        var magnitude = new double[s.O * s.OutH * s.OutW, m];
        var u = new double[s.O, s.C, 6, 6];
        for (int o = 0; o < s.O; o++)
        {
            for (int c = 0; c < s.C; c++)
            {
                for (int a = 0; a < 6; a++)
                {
                    for (int b = 0; b < 6; b++)
                    {
                        double sum = 0;
                        for (int i = 0; i < s.K; i++)
                        {
                            for (int j = 0; j < s.K; j++)
                            {
                                sum += Math.Abs(g[a, i]) * Math.Abs(double.CreateTruncating(weight[o, (((c * s.K) + i) * s.K) + j])) * Math.Abs(g[b, j]);
                            }
                        }

                        u[o, c, a, b] = sum;
                    }
                }
            }
        }

        var v = new double[s.C, 6, 6];
        for (int e = 0; e < m; e++)
        {
            for (int ty = 0; ty * tileSide < s.OutH; ty++)
            {
                for (int tx = 0; tx * tileSide < s.OutW; tx++)
                {
                    InputTileMagnitudes(s, x, e, ty * tileSide, tx * tileSide, v);

                    for (int o = 0; o < s.O; o++)
                    {
                        for (int q = 0; q < tileSide && (ty * tileSide) + q < s.OutH; q++)
                        {
                            for (int r = 0; r < tileSide && (tx * tileSide) + r < s.OutW; r++)
                            {
                                double sum = bias is null ? 0 : Math.Abs(double.CreateTruncating(bias[o, 0]));
                                for (int c = 0; c < s.C; c++)
                                {
                                    for (int a = 0; a < 6; a++)
                                    {
                                        for (int b = 0; b < 6; b++)
                                        {
                                            sum += Math.Abs(at[q, a]) * Math.Abs(at[r, b]) * u[o, c, a, b] * v[c, a, b];
                                        }
                                    }
                                }

                                magnitude[(((o * s.OutH) + (ty * tileSide) + q) * s.OutW) + (tx * tileSide) + r, e] = sum;
                            }
                        }
                    }
                }
            }
        }

        return magnitude;
    }

    /// <summary>
    /// The magnitude that bounds the rounding of Winograd's weight gradient (F(k × k, m × m) with each output tile of dY
    /// as the filter, on the same 6 × 6 input tiles and points as <see cref="WinogradMagnitude"/>): for dW[o, (c, i, j)],
    /// Σ_ξν |Awᵀ|_iξ |Awᵀ|_jν |s_ξ s_ν| Σ_(tiles, examples) (|Gw'| |f| |Gw'|ᵀ)_ξν (|Bᵀ| |d| |B|)_ξν, f the output
    /// gradient's tile and Gw = diag(s)·Gw' (the kernel sums with Gw' and scales at the end). Not scaled by 1/m.
    /// </summary>
    public static double[,] WinogradWeightMagnitude<T>(ConvShape s, Matrix<T> x, Matrix<T> dy)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        double[] points = [0, 1, -1, 2, -2];
        double[] scales = [1.0 / 4, -1.0 / 6, -1.0 / 6, 1.0 / 24, 1.0 / 24, 1];
        int tileSide = 7 - s.K;
        var gw = new double[6, tileSide];
        var aw = new double[s.K, 6];
        for (int a = 0; a < 6; a++)
        {
            for (int q = 0; q < tileSide; q++)
            {
                gw[a, q] = a == 5 ? (q == tileSide - 1 ? 1 : 0) : Math.Pow(points[a], q);
            }

            for (int i = 0; i < s.K; i++)
            {
                aw[i, a] = a == 5 ? (i == s.K - 1 ? 1 : 0) : Math.Pow(points[a], i);
            }
        }

        int m = x.Columns;
        int outH = s.OutH, outW = s.OutW;
        var sums = new double[s.O, s.C, 6, 6];
        var v = new double[s.C, 6, 6];
        var f = new double[s.O, 6, 6];
        for (int e = 0; e < m; e++)
        {
            for (int ty = 0; ty * tileSide < outH; ty++)
            {
                for (int tx = 0; tx * tileSide < outW; tx++)
                {
                    InputTileMagnitudes(s, x, e, ty * tileSide, tx * tileSide, v);

                    for (int o = 0; o < s.O; o++)
                    {
                        for (int a = 0; a < 6; a++)
                        {
                            for (int b = 0; b < 6; b++)
                            {
                                double sum = 0;
                                for (int q = 0; q < tileSide; q++)
                                {
                                    for (int r = 0; r < tileSide; r++)
                                    {
                                        int y = (ty * tileSide) + q, xx = (tx * tileSide) + r;
                                        double value = y < outH && xx < outW ? double.CreateTruncating(dy[(((o * outH) + y) * outW) + xx, e]) : 0;
                                        sum += Math.Abs(gw[a, q]) * Math.Abs(value) * Math.Abs(gw[b, r]);
                                    }
                                }

                                f[o, a, b] = sum;
                            }
                        }

                        for (int c = 0; c < s.C; c++)
                        {
                            for (int a = 0; a < 6; a++)
                            {
                                for (int b = 0; b < 6; b++)
                                {
                                    sums[o, c, a, b] += f[o, a, b] * v[c, a, b];
                                }
                            }
                        }
                    }
                }
            }
        }

        var magnitude = new double[s.O, s.C * s.K * s.K];
        for (int o = 0; o < s.O; o++)
        {
            for (int c = 0; c < s.C; c++)
            {
                for (int i = 0; i < s.K; i++)
                {
                    for (int j = 0; j < s.K; j++)
                    {
                        double sum = 0;
                        for (int a = 0; a < 6; a++)
                        {
                            for (int b = 0; b < 6; b++)
                            {
                                sum += Math.Abs(aw[i, a]) * Math.Abs(aw[j, b]) * Math.Abs(scales[a] * scales[b]) * sums[o, c, a, b];
                            }
                        }

                        magnitude[o, (((c * s.K) + i) * s.K) + j] = sum;
                    }
                }
            }
        }

        return magnitude;
    }

    /// <summary>Winograd's input transform Bᵀ for the points 0, ±1, ±2, ∞ (α = 6).</summary>
    private static readonly double[,] WinogradBt =
    {
        { 4, 0, -5, 0, 1, 0 }, { 0, -4, -4, 1, 1, 0 }, { 0, 4, -4, -1, 1, 0 },
        { 0, -2, -1, 2, 1, 0 }, { 0, 2, -1, -2, 1, 0 }, { 0, 4, 0, -5, 0, 1 },
    };

    /// <summary>v[c, ξ, ν] = (|Bᵀ| |d_c| |B|)[ξ, ν] for example <paramref name="e"/>'s 6 × 6 input tile of every channel whose output tile starts at (y0, x0).</summary>
    private static void InputTileMagnitudes<T>(ConvShape s, Matrix<T> x, int e, int y0, int x0, double[,,] v)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        for (int c = 0; c < s.C; c++)
        {
            for (int a = 0; a < 6; a++)
            {
                for (int b = 0; b < 6; b++)
                {
                    double sum = 0;
                    for (int i = 0; i < 6; i++)
                    {
                        for (int j = 0; j < 6; j++)
                        {
                            sum += Math.Abs(WinogradBt[a, i]) * Math.Abs(s.Input(x, c, y0 + i - s.Pad, x0 + j - s.Pad, e)) * Math.Abs(WinogradBt[b, j]);
                        }
                    }

                    v[c, a, b] = sum;
                }
            }
        }
    }

    /// <summary>dW, db (of the mean loss, 1/m) and dX (of the summed loss) from dY, each with Σ|terms|.</summary>
    public static (double[,] DW, double[,] DWMagnitude, double[] DB, double[] DBMagnitude, double[,] DX, double[,] DXMagnitude) ConvBackward<T>(ConvShape s, Matrix<T> x, Matrix<T> weight, Matrix<T> dy)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = x.Columns;
        int kk = s.C * s.K * s.K;
        var dw = new double[s.O, kk];
        var dwAbs = new double[s.O, kk];
        var db = new double[s.O];
        var dbAbs = new double[s.O];
        var dx = new double[s.C * s.H * s.W, m];
        var dxAbs = new double[s.C * s.H * s.W, m];
        for (int j = 0; j < m; j++)
        {
            for (int o = 0; o < s.O; o++)
            {
                for (int y = 0; y < s.OutH; y++)
                {
                    for (int xx = 0; xx < s.OutW; xx++)
                    {
                        double g = double.CreateTruncating(dy[(((o * s.OutH) + y) * s.OutW) + xx, j]);
                        db[o] += g;
                        dbAbs[o] += Math.Abs(g);
                        for (int c = 0; c < s.C; c++)
                        {
                            for (int i = 0; i < s.K; i++)
                            {
                                for (int k = 0; k < s.K; k++)
                                {
                                    int wi = (((c * s.K) + i) * s.K) + k;
                                    double input = s.Input(x, c, y + i - s.Pad, xx + k - s.Pad, j);
                                    dw[o, wi] += g * input;
                                    dwAbs[o, wi] += Math.Abs(g * input);
                                    int sy = y + i - s.Pad, sx = xx + k - s.Pad;
                                    if (sy >= 0 && sy < s.H && sx >= 0 && sx < s.W)
                                    {
                                        double term = double.CreateTruncating(weight[o, wi]) * g;
                                        dx[(((c * s.H) + sy) * s.W) + sx, j] += term;
                                        dxAbs[(((c * s.H) + sy) * s.W) + sx, j] += Math.Abs(term);
                                    }
                                }
                            }
                        }
                    }
                }
            }
        }

        for (int o = 0; o < s.O; o++)
        {
            db[o] /= m;
            dbAbs[o] /= m;
            for (int wi = 0; wi < kk; wi++)
            {
                dw[o, wi] /= m;
                dwAbs[o, wi] /= m;
            }
        }

        return (dw, dwAbs, db, dbAbs, dx, dxAbs);
    }

    /// <summary>2 × 2 max pooling, stride 2: the outputs, and dX with each window's gradient at its first maximum (row-major order).</summary>
    public static (double[,] Y, double[,] DX) MaxPool<T>(int c, int h, int w, Matrix<T> x, Matrix<T> dy)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int m = x.Columns;
        int oh = h / 2, ow = w / 2;
        var y = new double[c * oh * ow, m];
        var dx = new double[c * h * w, m];
        for (int j = 0; j < m; j++)
        {
            for (int ch = 0; ch < c; ch++)
            {
                for (int r = 0; r < oh; r++)
                {
                    for (int q = 0; q < ow; q++)
                    {
                        int best = -1;
                        double max = double.NegativeInfinity;
                        bool nan = false;
                        foreach ((int dr, int dq) in new[] { (0, 0), (0, 1), (1, 0), (1, 1) })
                        {
                            int at = (((ch * h) + (2 * r) + dr) * w) + (2 * q) + dq;
                            double v = double.CreateTruncating(x[at, j]);
                            nan |= double.IsNaN(v);
                            if (best < 0 || v > max)
                            {
                                best = at;
                                max = v;
                            }
                        }

                        int o = (((ch * oh) + r) * ow) + q;
                        y[o, j] = nan ? double.NaN : max;
                        if (!nan)
                        {
                            dx[best, j] = double.CreateTruncating(dy[o, j]);
                        }
                    }
                }
            }
        }

        return (y, dx);
    }

    /// <summary>
    /// Whether dropout keeps value (<paramref name="row"/>, <paramref name="column"/>) in the training pass with seed
    /// <paramref name="seed"/> at layer <paramref name="layer"/>, by the definition: the row's key is
    /// mix(mix(mix(seed) ⊕ layer) ⊕ row), the column's draw u = ⌊mix(key + column·γ) / 2¹¹⌋ / 2⁵³ with γ = 0x9E3779B97F4A7C15
    /// (SplitMix64's increment), and the value is kept when u ≥ p. mix is SplitMix64's finaliser (<c>Dropout.Mix</c>, held
    /// to SplitMix64's published outputs by its own test).
    /// </summary>
    public static bool DropoutKeeps(long seed, int layer, int row, int column, double rate)
    {
        static ulong Mix(ulong z) => MnistNet.Layers.Dropout<double>.Mix(z);
        ulong key = Mix(Mix(Mix(unchecked((ulong)seed)) ^ (uint)layer) ^ (uint)row);
        double u = (Mix(unchecked(key + ((ulong)column * 0x9E3779B97F4A7C15UL))) >> 11) / 9007199254740992.0;
        return u >= rate;
    }
}
