using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A dense layer's two products with a sparse input batch X (<see cref="SparseBatch{T}"/>), doing work only for X's
/// non-zeros — the first layer of a network on MNIST, where 81 % of the pixels are 0:
/// <list type="bullet">
/// <item><c>Z = W·X</c>: for each column j, <c>Zᵀ[j] = Σ_{k: x_kj ≠ 0} x_kj · Wᵀ[k]</c>, the sums in registers;</item>
/// <item><c>dW = (1/m) dZ·Xᵀ</c>: for each column j and each of its non-zeros k, <c>dWᵀ[k] += x_kj · dZᵀ[j]</c>.</item>
/// </list>
/// The hidden units are split into slices of four vectors (64 floats on the Vector512 path); each slice is a chunk of
/// work with buffers of its own, so the slices run on any number of threads with the same bits. Each element is one
/// fused multiply-add chain over the non-zeros in increasing row (forward) or column (gradient) order: Z has the same
/// bits as the dense product, whose chain over all rows only adds exact zeros besides. Reference twins: the dense
/// products in tests/MnistNet.TestSupport.
/// </summary>
internal sealed class SparseInputKernels<T> : IChunkJob
    where T : unmanaged, IFloatingPointIeee754<T>
{
    private readonly Matrix<T>[] _wt;
    private readonly Matrix<T>[] _columns;
    private readonly int _inputs;
    private readonly int _hidden;
    private SparseBatch<T> _x = null!;
    private Matrix<T> _w = null!;
    private Matrix<T> _target = null!;
    private T _inverseM;
    private bool _gradient;
    private SimdPath _path;

    /// <summary>Allocates per-slice buffers for a layer of <paramref name="hidden"/> units over <paramref name="inputs"/> inputs and batches of up to <paramref name="columns"/>.</summary>
    public SparseInputKernels(int inputs, int hidden, int columns)
    {
        _inputs = inputs;
        _hidden = hidden;
        int widest = SliceWidth(SimdPath.Vector512);
        int slices = (hidden + SliceWidth(SimdPath.Scalar) - 1) / SliceWidth(SimdPath.Scalar);
        _wt = new Matrix<T>[slices];
        _columns = new Matrix<T>[slices];
        for (int s = 0; s < slices; s++)
        {
            // Allocated on first use per slice (a wider vector path needs fewer, wider slices).
            _wt[s] = new Matrix<T>(0, 0);
            _columns[s] = new Matrix<T>(0, 0);
        }

        Capacity = columns;
        WidestSlice = widest;
    }

    private int Capacity { get; }

    private int WidestSlice { get; }

    /// <summary>Lanes per slice: four vectors of the path's width.</summary>
    public static int SliceWidth(SimdPath path) => 4 * path switch
    {
        SimdPath.Vector512 => Vector512<T>.Count,
        SimdPath.Vector256 => Vector256<T>.Count,
        _ => 1,
    };

    /// <summary>z = w·x (without the bias) for the batch in <paramref name="x"/>; z is hidden × x.Columns.</summary>
    public void Multiply(Matrix<T> w, SparseBatch<T> x, Matrix<T> z, SimdPath path, int threads)
    {
        _gradient = false;
        Run(w, x, z, T.One, path, threads);
    }

    /// <summary>dw = inverseM · (dz·xᵀ) for the batch in <paramref name="x"/>; dw is hidden × inputs.</summary>
    public void MultiplyByTranspose(Matrix<T> dz, SparseBatch<T> x, Matrix<T> dw, T inverseM, SimdPath path, int threads)
    {
        _gradient = true;
        Run(dz, x, dw, inverseM, path, threads);
    }

    private void Run(Matrix<T> w, SparseBatch<T> x, Matrix<T> target, T inverseM, SimdPath path, int threads)
    {
        _x = x;
        _w = w;
        _target = target;
        _inverseM = inverseM;
        _path = MnistNetRuntime.Resolve(path);
        int slices = (_hidden + SliceWidth(_path) - 1) / SliceWidth(_path);
        try
        {
            WorkerPool.Shared.Run(this, slices, threads);
        }
        finally
        {
            _x = null!;
            _w = null!;
            _target = null!;
        }
    }

    public void Execute(int chunk)
    {
        int width = SliceWidth(_path);
        int h0 = chunk * width;
        int h1 = Math.Min(h0 + width, _hidden);
        if (_wt[chunk].Columns < _inputs * width)
        {
            _wt[chunk] = new Matrix<T>(1, _inputs * WidestSlice);
            _columns[chunk] = new Matrix<T>(1, Capacity * WidestSlice);
        }

        Span<T> wt = _wt[chunk].Row(0);
        Span<T> columns = _columns[chunk].Row(0);
        switch (_path)
        {
            case SimdPath.Vector512:
                Slice<Vector512<T>, Simd512<T>>(h0, h1, wt, columns);
                break;
            case SimdPath.Vector256:
                Slice<Vector256<T>, Simd256<T>>(h0, h1, wt, columns);
                break;
            default:
                Slice<T, SimdScalar<T>>(h0, h1, wt, columns);
                break;
        }
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Slice<TVec, TOps>(int h0, int h1, Span<T> wt, Span<T> columns)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        int s = 4 * w;
        int m = _x.Columns;
        int inputs = _inputs;
        int lanes = h1 - h0;
        ref int start = ref _x.ColumnStart[0];
        ref ushort rows = ref _x.RowIndex[0];
        ref T values = ref _x.Values[0];
        ref T t = ref wt[0];
        ref T c = ref columns[0];

        if (!_gradient)
        {
            // Wᵀ for this slice: t[k·s + l] = W[h0 + l, k], zero beyond the last unit.
            for (int l = 0; l < s; l++)
            {
                if (l < lanes)
                {
                    Span<T> row = _w.Row(h0 + l);
                    for (int k = 0; k < inputs; k++)
                    {
                        Unsafe.Add(ref t, (k * s) + l) = row[k];
                    }
                }
                else
                {
                    for (int k = 0; k < inputs; k++)
                    {
                        Unsafe.Add(ref t, (k * s) + l) = T.Zero;
                    }
                }
            }

            // Zᵀ[j] = Σ over column j's non-zeros of x_kj · Wᵀ[k], four vectors in registers.
            for (int j = 0; j < m; j++)
            {
                TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
                for (nint e = Unsafe.Add(ref start, j), end = Unsafe.Add(ref start, j + 1); e < end; e++)
                {
                    TVec v = TOps.Broadcast(Unsafe.Add(ref values, e));
                    ref T r = ref Unsafe.Add(ref t, Unsafe.Add(ref rows, e) * (nint)s);
                    a0 = TOps.FusedMultiplyAdd(v, TOps.Load(in r), a0);
                    a1 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, w)), a1);
                    a2 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 2 * w)), a2);
                    a3 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 3 * w)), a3);
                }

                ref T zc = ref Unsafe.Add(ref c, j * s);
                TOps.Store(a0, ref zc);
                TOps.Store(a1, ref Unsafe.Add(ref zc, w));
                TOps.Store(a2, ref Unsafe.Add(ref zc, 2 * w));
                TOps.Store(a3, ref Unsafe.Add(ref zc, 3 * w));
            }

            // Back to rows: Z[h0 + l, j] = Zᵀ[j][l].
            for (int l = 0; l < lanes; l++)
            {
                Span<T> row = _target.Row(h0 + l);
                for (int j = 0; j < m; j++)
                {
                    row[j] = Unsafe.Add(ref c, (j * s) + l);
                }
            }

            return;
        }

        // dZᵀ for this slice: c[j·s + l] = dZ[h0 + l, j], zero beyond the last unit.
        for (int l = 0; l < s; l++)
        {
            if (l < lanes)
            {
                Span<T> row = _w.Row(h0 + l);
                for (int j = 0; j < m; j++)
                {
                    Unsafe.Add(ref c, (j * s) + l) = row[j];
                }
            }
            else
            {
                for (int j = 0; j < m; j++)
                {
                    Unsafe.Add(ref c, (j * s) + l) = T.Zero;
                }
            }
        }

        // dWᵀ[k] += x_kj · dZᵀ[j] over every non-zero, column by column.
        wt[..(inputs * s)].Clear();
        for (int j = 0; j < m; j++)
        {
            ref T dc = ref Unsafe.Add(ref c, j * s);
            TVec d0 = TOps.Load(in dc);
            TVec d1 = TOps.Load(in Unsafe.Add(ref dc, w));
            TVec d2 = TOps.Load(in Unsafe.Add(ref dc, 2 * w));
            TVec d3 = TOps.Load(in Unsafe.Add(ref dc, 3 * w));
            for (nint e = Unsafe.Add(ref start, j), end = Unsafe.Add(ref start, j + 1); e < end; e++)
            {
                TVec v = TOps.Broadcast(Unsafe.Add(ref values, e));
                ref T r = ref Unsafe.Add(ref t, Unsafe.Add(ref rows, e) * (nint)s);
                TOps.Store(TOps.FusedMultiplyAdd(v, d0, TOps.Load(in r)), ref r);
                TOps.Store(TOps.FusedMultiplyAdd(v, d1, TOps.Load(in Unsafe.Add(ref r, w))), ref Unsafe.Add(ref r, w));
                TOps.Store(TOps.FusedMultiplyAdd(v, d2, TOps.Load(in Unsafe.Add(ref r, 2 * w))), ref Unsafe.Add(ref r, 2 * w));
                TOps.Store(TOps.FusedMultiplyAdd(v, d3, TOps.Load(in Unsafe.Add(ref r, 3 * w))), ref Unsafe.Add(ref r, 3 * w));
            }
        }

        // Back to rows, scaled: dW[h0 + l, k] = (1/m) · dWᵀ[k][l].
        T scale = _inverseM;
        for (int l = 0; l < lanes; l++)
        {
            Span<T> row = _target.Row(h0 + l);
            for (int k = 0; k < inputs; k++)
            {
                row[k] = Unsafe.Add(ref t, (k * s) + l) * scale;
            }
        }
    }
}
