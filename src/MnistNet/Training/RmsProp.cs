using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.LinearAlgebra;
using MnistNet.Layers;

namespace MnistNet.Training;


/// <summary>RMSProp: <c>s ← ρ·s + (1 − ρ)·g²</c>, then <c>θ ← θ − η·g / (√s + ε)</c>.</summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class RmsProp<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="rho">ρ, the decay of the squared-gradient average, in [0, 1).</param>
    /// <param name="epsilon">ε &gt; 0, added to the denominator.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public RmsProp(double learningRate = 0.001, double rho = 0.9, double epsilon = 1e-8)
        : base(learningRate)
    {
        CheckFraction(rho, nameof(rho));
        CheckRate(epsilon, nameof(epsilon));
        Rho = rho;
        Epsilon = epsilon;
    }

    /// <summary>Gets ρ.</summary>
    public double Rho { get; }

    /// <summary>Gets ε.</summary>
    public double Epsilon { get; }

    /// <inheritdoc/>
    public override string Name => "rmsprop";

    /// <inheritdoc/>
    public override int StateCount => 1;

    /// <inheritdoc/>
    public override IEnumerable<KeyValuePair<string, string>> Settings() => [new("rho", Text(Rho)), new("epsilon", Text(Epsilon))];

    // Stryker disable once all : parallel and serial updates give the same bits (OptimizerTests, ThreadCountTests); this only picks the faster
    private protected override bool Elementwise => true;

    /// <inheritdoc/>
    protected override void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate) =>
        Run(parameter.Value.AsSpan(), gradient, StateSpan(state, 0), StateSpan(state, 1), new Kernel(learningRate, T.CreateTruncating(Rho), T.CreateTruncating(Epsilon)));

    /// <summary>s = ρ·s + (1 − ρ)·g·g; θ −= η·g / (√s + ε).</summary>
    private readonly struct Kernel(T learningRate, T rho, T epsilon) : IUpdateKernel<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Apply<TVec, TOps>(ref T p, ref T g, ref T s, ref T unused, int i, int n)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            TVec r = TOps.Broadcast(rho);
            TVec oneMinusRho = TOps.Broadcast(T.One - rho);
            TVec eps = TOps.Broadcast(epsilon);
            TVec eta = TOps.Broadcast(learningRate);
            int w = TOps.Count;

            // Stryker disable once Equality : a last full vector left to the scalar tail gives the same bits (paths are bit-identical, tested)
            for (; i + w <= n; i += w)
            {
                TVec gi = TOps.Load(in Unsafe.Add(ref g, i));
                TVec si = TOps.Add(TOps.Multiply(r, TOps.Load(in Unsafe.Add(ref s, i))), TOps.Multiply(TOps.Multiply(oneMinusRho, gi), gi));
                TOps.Store(si, ref Unsafe.Add(ref s, i));
                TVec update = TOps.Divide(TOps.Multiply(eta, gi), TOps.Add(TOps.Sqrt(si), eps));
                TOps.Store(TOps.Subtract(TOps.Load(in Unsafe.Add(ref p, i)), update), ref Unsafe.Add(ref p, i));
            }

            return i;
        }
    }
}
