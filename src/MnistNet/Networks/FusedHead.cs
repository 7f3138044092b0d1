using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;

namespace MnistNet.Networks;

/// <summary>
/// Everything of a fused training step between <c>Z1 = W1·X</c> and <c>dZ1</c>, for one block of columns, in two passes
/// over groups of one vector of columns (lanes = examples) instead of a dozen whole-block passes:
/// <list type="number">
/// <item>Z1 += b1, A1 = ReLU(Z1), Z2 = W2·A1 + b2, and Z2 − max over the outputs (into A2);</item>
/// <item>e = exp(Z2 − max) (<see cref="VectorExp"/>, the function of the readable softmax), A2 = e / Σ e, dZ2 = A2 − onehot(Y) and dZ1 = (W2ᵀ·dZ2) ⊙ [Z1 &gt; 0].</item>
/// </list>
/// Every value has the same bits as the readable path's (<see cref="TwoLayerNetwork{T}.ForwardProp(Matrix{T}, ForwardPass{T})"/>
/// and <c>BackwardProp</c>): the same operations in the same order, one FMA chain per product element.
/// </summary>
[SkipLocalsInit]
internal static class FusedHead
{
    /// <summary>
    /// Runs the head on columns [<paramref name="c0"/>, <paramref name="c1"/>) (at most <paramref name="scratch"/>.Length / 2
    /// of them) and returns their summed cross-entropy. Z1 must hold W1·X (without b1) there.
    /// </summary>
    public static double Run<T>(Dense<T> first, Dense<T> second, ForwardPass<T> f, Gradients<T> g, ReadOnlySpan<ushort> labels, int c0, int c1, Span<T> scratch, SimdPath path)
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        int n = c1 - c0;
        // Stryker disable once Equality,Block : an empty block computes nothing and adds 0 to the loss either way
        if (n <= 0)
        {
            return 0;
        }

        Span<T> labelValues = scratch[..n];
        Span<T> sums = scratch.Slice(scratch.Length / 2, n);
        for (int j = 0; j < n; j++)
        {
            labelValues[j] = T.CreateTruncating(labels[c0 + j]);
        }

        var state = new State<T>(first, second, f, g, c0);

        // Pass 1, then pass 2 (the exponentials included), which also replaces each label by its column's shifted logit.
        var forward = new PassLoop<T>(in state, default, default, backward: false);
        Simd.Cascade<T, PassLoop<T>>(path, ref forward, c0, c1);
        var backward = new PassLoop<T>(in state, labelValues, sums, backward: true);
        Simd.Cascade<T, PassLoop<T>>(path, ref backward, c0, c1);

        // Column j's loss is log Σ e − (Z2[y_j, j] − max), in double. Four running sums (columns j mod 4) rather than one
        // chain of dependent additions, added up at the end: a fixed order, so the same bits on any thread.
        SimdMath.Log(sums, sums);
        double l0 = 0, l1 = 0, l2 = 0, l3 = 0;
        int i = 0;
        for (; i + 4 <= n; i += 4)
        {
            l0 += double.CreateTruncating(sums[i]) - double.CreateTruncating(labelValues[i]);
            l1 += double.CreateTruncating(sums[i + 1]) - double.CreateTruncating(labelValues[i + 1]);
            l2 += double.CreateTruncating(sums[i + 2]) - double.CreateTruncating(labelValues[i + 2]);
            l3 += double.CreateTruncating(sums[i + 3]) - double.CreateTruncating(labelValues[i + 3]);
        }

        for (; i < n; i++)
        {
            l0 += double.CreateTruncating(sums[i]) - double.CreateTruncating(labelValues[i]);
        }

        return (l0 + l1) + (l2 + l3);
    }

    /// <summary>Pass 1 (<see cref="Forward"/>) or pass 2 (<see cref="Backward"/>) as a loop for <see cref="Simd.Cascade"/>.</summary>
    private readonly ref struct PassLoop<T> : IVectorLoop<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        private readonly State<T> _state;
        private readonly Span<T> _labelValues;
        private readonly Span<T> _sums;
        private readonly bool _backward;

        public PassLoop(in State<T> state, Span<T> labelValues, Span<T> sums, bool backward)
        {
            _state = state;
            _labelValues = labelValues;
            _sums = sums;
            _backward = backward;
        }

        public int Run<TVec, TOps>(int i, int end)
            where TVec : struct
            where TOps : ISimdOps<T, TVec> =>
            _backward ? Backward<T, TVec, TOps>(in _state, _labelValues, _sums, i, end) : Forward<T, TVec, TOps>(in _state, i, end);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Forward<T, TVec, TOps>(in State<T> s, int j, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        for (; j + w <= end; j += w)
        {
            // Z1 += b1; A1 = max(Z1, 0).
            for (int h = 0; h < s.Hidden; h++)
            {
                ref T z1 = ref Unsafe.Add(ref s.Z1, (h * s.HiddenStride) + j);
                TVec z = TOps.Add(TOps.Load(in z1), TOps.Broadcast(Unsafe.Add(ref s.B1, h * s.BiasStride1)));
                TOps.Store(z, ref z1);
                TOps.Store(TOps.Max(z, TOps.Zero), ref Unsafe.Add(ref s.A1, (h * s.HiddenStride) + j));
            }

            // Z2 = W2·A1 + b2 (one FMA chain over h per element, h ascending); the running maximum over the outputs, o
            // ascending. Four outputs' chains run side by side so that their FMAs overlap; each chain is unchanged.
            TVec max = TOps.Zero;
            int o = 0;
            // Stryker disable once Equality : a last group of four left to the single loop gives the same bits (each chain is unchanged)
            for (; o + 4 <= s.Outputs; o += 4)
            {
                ref T w0 = ref Unsafe.Add(ref s.W2, o * s.W2Stride);
                ref T w1 = ref Unsafe.Add(ref w0, s.W2Stride);
                ref T w2 = ref Unsafe.Add(ref w1, s.W2Stride);
                ref T w3 = ref Unsafe.Add(ref w2, s.W2Stride);
                TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
                for (int h = 0; h < s.Hidden; h++)
                {
                    TVec a = TOps.Load(in Unsafe.Add(ref s.A1, (h * s.HiddenStride) + j));
                    c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w0, h)), a, c0);
                    c1 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w1, h)), a, c1);
                    c2 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, h)), a, c2);
                    c3 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w3, h)), a, c3);
                }

                max = StoreLogit<T, TVec, TOps>(in s, o, j, c0, max);
                max = StoreLogit<T, TVec, TOps>(in s, o + 1, j, c1, max);
                max = StoreLogit<T, TVec, TOps>(in s, o + 2, j, c2, max);
                max = StoreLogit<T, TVec, TOps>(in s, o + 3, j, c3, max);
            }

            for (; o < s.Outputs; o++)
            {
                TVec acc = TOps.Zero;
                ref T w2 = ref Unsafe.Add(ref s.W2, o * s.W2Stride);
                for (int h = 0; h < s.Hidden; h++)
                {
                    acc = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, h)), TOps.Load(in Unsafe.Add(ref s.A1, (h * s.HiddenStride) + j)), acc);
                }

                max = StoreLogit<T, TVec, TOps>(in s, o, j, acc, max);
            }

            for (o = 0; o < s.Outputs; o++)
            {
                TOps.Store(TOps.Subtract(TOps.Load(in Unsafe.Add(ref s.Z2, (o * s.OutputStride) + j)), max), ref Unsafe.Add(ref s.A2, (o * s.OutputStride) + j));
            }
        }

        return j;
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Backward<T, TVec, TOps>(in State<T> s, Span<T> labelValues, Span<T> sums, int j, int end)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        ref T label = ref labelValues[0];
        ref T sum = ref sums[0];
        for (; j + w <= end; j += w)
        {
            // e = exp(Z2 − max) (SimdMath.Exp's function, so the same bits), and Σ e over the outputs in row order from 0
            // like the readable softmax; the label's shifted logit Z2[y] − max (for the loss) replaces the label.
            ref T labelAt = ref Unsafe.Add(ref label, j - s.Start);
            TVec y = TOps.Load(in labelAt);
            TVec labelLogit = TOps.Zero;
            TVec total = TOps.Zero;
            for (int o = 0; o < s.Outputs; o++)
            {
                ref T a2 = ref Unsafe.Add(ref s.A2, (o * s.OutputStride) + j);
                TVec shifted = TOps.Load(in a2);
                labelLogit = TOps.SelectWhereEqual(y, TOps.Broadcast(T.CreateTruncating(o)), shifted, labelLogit);
                TVec e = VectorExp.Exp<T, TVec, TOps>(shifted);
                TOps.Store(e, ref a2);
                total = TOps.Add(total, e);
            }

            TOps.Store(total, ref Unsafe.Add(ref sum, j - s.Start));
            TOps.Store(labelLogit, ref labelAt);

            // A2 = e / Σ e; dZ2 = A2 − onehot(Y).
            for (int o = 0; o < s.Outputs; o++)
            {
                ref T a2 = ref Unsafe.Add(ref s.A2, (o * s.OutputStride) + j);
                TVec p = TOps.Divide(TOps.Load(in a2), total);
                TOps.Store(p, ref a2);
                TOps.Store(TOps.Subtract(p, TOps.OneWhereEqual(y, T.CreateTruncating(o))), ref Unsafe.Add(ref s.DZ2, (o * s.OutputStride) + j));
            }

            // dZ1 = (W2ᵀ·dZ2) ⊙ [Z1 > 0] (one FMA chain over o per element, o ascending; A1 > 0 exactly where Z1 > 0).
            // Four hidden units' chains run side by side; each chain is unchanged.
            int h = 0;
            // Stryker disable once Equality : a last group of four left to the single loop gives the same bits (each chain is unchanged)
            for (; h + 4 <= s.Hidden; h += 4)
            {
                TVec c0 = TOps.Zero, c1 = TOps.Zero, c2 = TOps.Zero, c3 = TOps.Zero;
                for (int o = 0; o < s.Outputs; o++)
                {
                    ref T w2 = ref Unsafe.Add(ref s.W2, (o * s.W2Stride) + h);
                    TVec d = TOps.Load(in Unsafe.Add(ref s.DZ2, (o * s.OutputStride) + j));
                    c0 = TOps.FusedMultiplyAdd(TOps.Broadcast(w2), d, c0);
                    c1 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, 1)), d, c1);
                    c2 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, 2)), d, c2);
                    c3 = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, 3)), d, c3);
                }

                StoreHiddenGradient<T, TVec, TOps>(in s, h, j, c0);
                StoreHiddenGradient<T, TVec, TOps>(in s, h + 1, j, c1);
                StoreHiddenGradient<T, TVec, TOps>(in s, h + 2, j, c2);
                StoreHiddenGradient<T, TVec, TOps>(in s, h + 3, j, c3);
            }

            for (; h < s.Hidden; h++)
            {
                TVec acc = TOps.Zero;
                ref T w2 = ref Unsafe.Add(ref s.W2, h);
                for (int o = 0; o < s.Outputs; o++)
                {
                    acc = TOps.FusedMultiplyAdd(TOps.Broadcast(Unsafe.Add(ref w2, o * s.W2Stride)), TOps.Load(in Unsafe.Add(ref s.DZ2, (o * s.OutputStride) + j)), acc);
                }

                StoreHiddenGradient<T, TVec, TOps>(in s, h, j, acc);
            }
        }

        return j;
    }

    /// <summary>Z2[o, j..] = sum + b2[o]; returns the running maximum over the outputs so far (Z2[0] itself for o = 0).</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static TVec StoreLogit<T, TVec, TOps>(in State<T> s, int o, int j, TVec sum, TVec max)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec z2 = TOps.Add(sum, TOps.Broadcast(Unsafe.Add(ref s.B2, o * s.BiasStride2)));
        TOps.Store(z2, ref Unsafe.Add(ref s.Z2, (o * s.OutputStride) + j));
        return o == 0 ? z2 : TOps.Max(max, z2);
    }

    /// <summary>dZ1[h, j..] = sum where A1[h, j..] &gt; 0, else 0.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreHiddenGradient<T, TVec, TOps>(in State<T> s, int h, int j, TVec sum)
        where T : unmanaged, IFloatingPointIeee754<T>
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        nint at = (h * s.HiddenStride) + j;
        TOps.Store(TOps.SelectWherePositive(TOps.Load(in Unsafe.Add(ref s.A1, at)), sum), ref Unsafe.Add(ref s.DZ1, at));
    }

    /// <summary>The matrices' first elements and strides, gathered once per block.</summary>
    private readonly ref struct State<T>
        where T : unmanaged, IFloatingPointIeee754<T>
    {
        public readonly ref T Z1;
        public readonly ref T A1;
        public readonly ref T Z2;
        public readonly ref T A2;
        public readonly ref T DZ1;
        public readonly ref T DZ2;
        public readonly ref T W2;
        public readonly ref T B1;
        public readonly ref T B2;
        public readonly nint HiddenStride;
        public readonly nint OutputStride;
        public readonly nint W2Stride;
        public readonly nint BiasStride1;
        public readonly nint BiasStride2;
        public readonly int Hidden;
        public readonly int Outputs;
        public readonly int Start;

        public State(Dense<T> first, Dense<T> second, ForwardPass<T> f, Gradients<T> g, int start)
        {
            Z1 = ref f.Z1.UnsafeStart;
            A1 = ref f.A1.UnsafeStart;
            Z2 = ref f.Z2.UnsafeStart;
            A2 = ref f.A2.UnsafeStart;
            DZ1 = ref g.DZ1.UnsafeStart;
            DZ2 = ref g.DZ2.UnsafeStart;
            W2 = ref second.Weight.Value.UnsafeStart;
            B1 = ref first.Bias.Value.UnsafeStart;
            B2 = ref second.Bias.Value.UnsafeStart;
            HiddenStride = f.Z1.Stride;
            OutputStride = f.Z2.Stride;
            W2Stride = second.Weight.Value.Stride;
            BiasStride1 = first.Bias.Value.Stride;
            BiasStride2 = second.Bias.Value.Stride;
            Hidden = first.OutputSize;
            Outputs = second.OutputSize;
            Start = start;
        }
    }
}
