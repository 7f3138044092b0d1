using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.LinearAlgebra;
using MnistNet.Layers;

namespace MnistNet.Training;


/// <summary>
/// Gradient descent with momentum, as PyTorch's SGD defines it: <c>v ← μ·v + g</c>, then <c>θ ← θ − η·v</c>, or with
/// Nesterov's look-ahead <c>θ ← θ − η·(g + μ·v)</c>.
/// </summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Momentum<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <param name="momentum">μ in [0, 1).</param>
    /// <param name="nesterov">Use Nesterov's accelerated gradient.</param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    public Momentum(double learningRate = 0.05, double momentum = 0.9, bool nesterov = false)
        : base(learningRate)
    {
        CheckFraction(momentum, nameof(momentum));
        Coefficient = momentum;
        Nesterov = nesterov;
    }

    /// <summary>Gets μ.</summary>
    public double Coefficient { get; }

    /// <summary>Gets whether the Nesterov form is used.</summary>
    public bool Nesterov { get; }

    /// <inheritdoc/>
    public override string Name => Nesterov ? "nesterov" : "momentum";

    /// <inheritdoc/>
    public override int StateCount => 1;

    /// <inheritdoc/>
    public override IEnumerable<KeyValuePair<string, string>> Settings() =>
        [new("momentum", Text(Coefficient)), new("nesterov", Nesterov ? "true" : "false")];

    // Stryker disable once all : parallel and serial updates give the same bits (OptimizerTests, ThreadCountTests); this only picks the faster
    private protected override bool Elementwise => true;

    /// <inheritdoc/>
    protected override void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate) =>
        Run(parameter.Value.AsSpan(), gradient, StateSpan(state, 0), StateSpan(state, 1), new Kernel(learningRate, T.CreateTruncating(Coefficient), Nesterov));

    /// <summary>v = μ·v + g; θ −= η·v (or η·(g + μ·v)).</summary>
    private readonly struct Kernel(T learningRate, T mu, bool nesterov) : IUpdateKernel<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Apply<TVec, TOps>(ref T p, ref T g, ref T v, ref T unused, int i, int n)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            TVec m = TOps.Broadcast(mu);
            TVec eta = TOps.Broadcast(learningRate);
            int w = TOps.Count;
            for (; i + w <= n; i += w)
            {
                TVec gi = TOps.Load(in Unsafe.Add(ref g, i));
                TVec vi = TOps.Add(TOps.Multiply(m, TOps.Load(in Unsafe.Add(ref v, i))), gi);
                TOps.Store(vi, ref Unsafe.Add(ref v, i));
                TVec direction = nesterov ? TOps.Add(gi, TOps.Multiply(m, vi)) : vi;
                TOps.Store(TOps.Subtract(TOps.Load(in Unsafe.Add(ref p, i)), TOps.Multiply(eta, direction)), ref Unsafe.Add(ref p, i));
            }

            return i;
        }
    }
}
