using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.LinearAlgebra;
using MnistNet.Layers;

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

    /// <inheritdoc/>
    public override int StateCount => 2;

    /// <inheritdoc/>
    public override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [new("beta1", Text(Beta1)), new("beta2", Text(Beta2)), new("epsilon", Text(Epsilon)), new("weight_decay", Text(WeightDecay))];

    // Stryker disable once all : parallel and serial updates give the same bits (OptimizerTests, ThreadCountTests); this only picks the faster
    private protected override bool Elementwise => true;

    /// <inheritdoc/>
    protected override void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate)
    {
        // Bias corrections in double from the step count, then one rounding to T.
        double t = Steps;
        var kernel = new Kernel(
            learningRate / T.CreateTruncating(1 - Math.Pow(Beta1, t)),
            T.CreateTruncating(Math.Sqrt(1 - Math.Pow(Beta2, t))),
            T.CreateTruncating(Beta1),
            T.CreateTruncating(Beta2),
            T.CreateTruncating(Epsilon),

            // Stryker disable once Equality : with no weight decay the factor is 1 − rate·0 = 1 exactly, as in the other branch
            parameter.Decays && WeightDecay > 0 ? T.One - (learningRate * T.CreateTruncating(WeightDecay)) : T.One);
        Run(parameter.Value.AsSpan(), gradient, StateSpan(state, 0), StateSpan(state, 1), kernel);
    }

    /// <summary>θ ·= decay; m = β₁·m + (1 − β₁)·g; v = β₂·v + (1 − β₂)·g·g; θ −= step·m / (√v / c₂ + ε).</summary>
    private readonly struct Kernel(T step, T correction2, T beta1, T beta2, T epsilon, T decay) : IUpdateKernel<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Apply<TVec, TOps>(ref T p, ref T g, ref T m, ref T v, int i, int n)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            TVec stepV = TOps.Broadcast(step);
            TVec c2 = TOps.Broadcast(correction2);
            TVec b1 = TOps.Broadcast(beta1);
            TVec b2 = TOps.Broadcast(beta2);
            TVec oneMinusB1 = TOps.Broadcast(T.One - beta1);
            TVec oneMinusB2 = TOps.Broadcast(T.One - beta2);
            TVec eps = TOps.Broadcast(epsilon);
            TVec decayV = TOps.Broadcast(decay);
            bool decayed = decay != T.One;
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
                    theta = TOps.Multiply(theta, decayV);
                }

                TVec denominator = TOps.Add(TOps.Divide(TOps.Sqrt(vi), c2), eps);
                TOps.Store(TOps.Subtract(theta, TOps.Divide(TOps.Multiply(stepV, mi), denominator)), ref Unsafe.Add(ref p, i));
            }

            return i;
        }
    }
}
