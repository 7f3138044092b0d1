using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MnistNet.LinearAlgebra;

namespace MnistNet.Training;

/// <summary>
/// Adam (Kingma &amp; Ba), with AdamW's decoupled weight decay when <see cref="WeightDecay"/> is not 0, as PyTorch computes it:
/// <c>θ ← θ·(1 − η·λ)</c> (weights only), <c>m ← β₁·m + (1 − β₁)·g</c>, <c>v ← β₂·v + (1 − β₂)·g²</c>, then
/// <c>θ ← θ − (η / (1 − β₁ᵗ))·m / (√v / √(1 − β₂ᵗ) + ε)</c>.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Adam<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="beta1">β₁ in [0, 1).</param>
    /// <param name="beta2">β₂ in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0.</param>
    /// <param name="weightDecay">λ ≥ 0: AdamW's decoupled decay of the weights (biases are not decayed); 0 is plain Adam.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Adam(double learningRate = 0.001, double beta1 = 0.9, double beta2 = 0.999, double epsilon = 1e-8, double weightDecay = 0)
        : base(learningRate)
    {
        CheckFraction(beta1, nameof(beta1));
        CheckFraction(beta2, nameof(beta2));
        CheckRate(epsilon, nameof(epsilon));
        CheckNonNegative(weightDecay, nameof(weightDecay));
        Beta1 = beta1;
        Beta2 = beta2;
        Epsilon = epsilon;
        WeightDecay = weightDecay;
    }

    /// <summary>Gets β₁.</summary>
    public double Beta1 { get; }

    /// <summary>Gets β₂.</summary>
    public double Beta2 { get; }

    /// <summary>Gets ε.</summary>
    public double Epsilon { get; }

    /// <summary>Gets λ, AdamW's decoupled weight decay (0 for Adam).</summary>
    public double WeightDecay { get; }

    /// <inheritdoc/>
    public override string Name => WeightDecay > 0 ? "adamw" : "adam";

    internal override int StateCount => 2;

    internal override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [new("beta1", Text(Beta1)), new("beta2", Text(Beta2)), new("epsilon", Text(Epsilon)), new("weight_decay", Text(WeightDecay))];

    internal override void Update(Span<T> parameter, ReadOnlySpan<T> gradient, Span<T> s0, Span<T> s1, T learningRate, bool isWeight)
    {
        // Bias corrections in double from the step count, then one rounding to T.
        double t = Steps;
        var c = new Constants(
            learningRate / T.CreateTruncating(1 - Math.Pow(Beta1, t)),
            T.CreateTruncating(Math.Sqrt(1 - Math.Pow(Beta2, t))),
            T.CreateTruncating(Beta1),
            T.CreateTruncating(Beta2),
            T.CreateTruncating(Epsilon),
            isWeight && WeightDecay > 0 ? T.One - (learningRate * T.CreateTruncating(WeightDecay)) : T.One);
        ref T p = ref MemoryMarshal.GetReference(parameter);
        ref T g = ref MemoryMarshal.GetReference(gradient);
        ref T m = ref MemoryMarshal.GetReference(s0);
        ref T v = ref MemoryMarshal.GetReference(s1);
        int n = parameter.Length;
        int i = 0;
        if (Vector512.IsHardwareAccelerated)
        {
            i = Apply<Vector512<T>, Simd512<T>>(ref p, ref g, ref m, ref v, i, n, c);
        }

        if (Vector256.IsHardwareAccelerated)
        {
            i = Apply<Vector256<T>, Simd256<T>>(ref p, ref g, ref m, ref v, i, n, c);
        }

        Apply<T, SimdScalar<T>>(ref p, ref g, ref m, ref v, i, n, c);
    }

    /// <summary>The update on [i, n) in steps of one vector; every width gives the same bits (the same operations per element).</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static int Apply<TVec, TOps>(ref T p, ref T g, ref T m, ref T v, int i, int n, in Constants c)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        TVec step = TOps.Broadcast(c.Step);
        TVec correction2 = TOps.Broadcast(c.Correction2);
        TVec b1 = TOps.Broadcast(c.Beta1);
        TVec b2 = TOps.Broadcast(c.Beta2);
        TVec oneMinusB1 = TOps.Broadcast(T.One - c.Beta1);
        TVec oneMinusB2 = TOps.Broadcast(T.One - c.Beta2);
        TVec epsilon = TOps.Broadcast(c.Epsilon);
        TVec decay = TOps.Broadcast(c.Decay);
        bool decayed = c.Decay != T.One;
        int w = TOps.Count;
        for (; i + w <= n; i += w)
        {
            TVec gi = TOps.Load(in Unsafe.Add(ref g, i));
            TVec mi = TOps.Add(TOps.Multiply(b1, TOps.Load(in Unsafe.Add(ref m, i))), TOps.Multiply(oneMinusB1, gi));
            TVec vi = TOps.Add(TOps.Multiply(b2, TOps.Load(in Unsafe.Add(ref v, i))), TOps.Multiply(TOps.Multiply(oneMinusB2, gi), gi));
            TOps.Store(mi, ref Unsafe.Add(ref m, i));
            TOps.Store(vi, ref Unsafe.Add(ref v, i));
            TVec theta = TOps.Load(in Unsafe.Add(ref p, i));
            if (decayed)
            {
                theta = TOps.Multiply(theta, decay);
            }

            TVec denominator = TOps.Add(TOps.Divide(TOps.Sqrt(vi), correction2), epsilon);
            TOps.Store(TOps.Subtract(theta, TOps.Divide(TOps.Multiply(step, mi), denominator)), ref Unsafe.Add(ref p, i));
        }

        return i;
    }

    private readonly record struct Constants(T Step, T Correction2, T Beta1, T Beta2, T Epsilon, T Decay);
}
