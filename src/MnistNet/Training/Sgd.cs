using System.Numerics;
using System.Runtime.CompilerServices;
using MnistNet.Layers;
using MnistNet.LinearAlgebra;

namespace MnistNet.Training;

/// <summary>Plain (mini-batch) gradient descent: <c>θ ← θ − η·g</c>, one fused multiply-add per element.</summary>
/// <typeparam name="T">float or double.</typeparam>
public sealed class Sgd<T> : Optimizer<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates the optimiser.</summary>
    /// <param name="learningRate">η, finite and positive.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="learningRate"/> is not finite and positive.</exception>
    public Sgd(double learningRate = 0.1)
        : base(learningRate)
    {
    }

    /// <inheritdoc/>
    public override string Name => "sgd";

    /// <summary>θ ← θ − α·g for each parameter and its gradient (the seed's <c>update_params</c>); the rule this optimiser applies.</summary>
    internal static void Descend(IReadOnlyList<Parameter<T>> parameters, Matrix<T>[] gradients, T alpha)
    {
        for (int p = 0; p < parameters.Count; p++)
        {
            // Whole buffers: padding is zero in both, so it stays zero.
            Run(parameters[p].Value.AsSpan(), gradients[p].AsSpan(), default, default, new Kernel(-alpha));
        }
    }

    // Stryker disable once all : parallel and serial updates give the same bits (OptimizerTests, ThreadCountTests); this only picks the faster
    private protected override bool Elementwise => true;

    /// <inheritdoc/>
    protected override void Update(Parameter<T> parameter, ReadOnlySpan<T> gradient, ReadOnlySpan<Matrix<T>> state, T learningRate) =>
        Run(parameter.Value.AsSpan(), gradient, default, default, new Kernel(-learningRate));

    /// <summary>θ = fma(g, −η, θ).</summary>
    private readonly struct Kernel(T minusRate) : IUpdateKernel<T>
    {
        [MethodImpl(MethodImplOptions.AggressiveOptimization)]
        public int Apply<TVec, TOps>(ref T p, ref T g, ref T s0, ref T s1, int i, int n)
            where TVec : struct
            where TOps : ISimdOps<T, TVec>
        {
            TVec rate = TOps.Broadcast(minusRate);
            int w = TOps.Count;

            // Stryker disable once Equality : a last full vector left to the scalar tail gives the same bits (paths are bit-identical, tested)
            for (; i + w <= n; i += w)
            {
                TVec theta = TOps.Load(in Unsafe.Add(ref p, i));
                TOps.Store(TOps.FusedMultiplyAdd(TOps.Load(in Unsafe.Add(ref g, i)), rate, theta), ref Unsafe.Add(ref p, i));
            }

            return i;
        }
    }
}
