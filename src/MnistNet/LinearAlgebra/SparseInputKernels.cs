using System.Numerics;
using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A dense layer's two products with a sparse input batch X (<see cref="SparseBatch{T}"/>), doing work only for X's
/// non-zeros — the first layer of a network on MNIST, where 81 % of the pixels are 0:
/// <list type="bullet">
/// <item><c>Z = W·X</c>: for each column j, <c>Zᵀ[j] = Σ_{k: x_kj ≠ 0} x_kj · Wᵀ[k]</c>, the sums in registers;</item>
/// <item><c>dW = (1/m) dZ·Xᵀ</c>: for each row k, <c>dWᵀ[k] = Σ_{j: x_kj ≠ 0} x_kj · dZᵀ[j]</c>, the sums in registers.</item>
/// </list>
/// The hidden units are split into slices of four vectors (64 floats on the Vector512 path); each slice is a chunk of
/// work with buffers of its own, so the slices run on any number of threads with the same bits. Each element is one
/// fused multiply-add chain over the non-zeros in increasing row (forward: the batch's columns, read where they lie in the
/// data set's index) or column (gradient: the batch grouped by row) order: Z has the same
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
    private int _slices;
    private int _countingSlice;
    private int[] _owners = [];

    /// <summary>Allocates per-slice buffers for a layer of <paramref name="hidden"/> units over <paramref name="inputs"/> inputs and batches of up to <paramref name="columns"/>.</summary>
    public SparseInputKernels(int inputs, int hidden, int columns)
    {
        _inputs = inputs;
        _hidden = hidden;
        int widest = SliceWidth(SimdPath.Vector512);
        // Stryker disable once Arithmetic : room for the most slices any path needs; more room changes no value
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
        _slices = (_hidden + SliceWidth(_path) - 1) / SliceWidth(_path);
        if (_owners.Length != _slices)
        {
            // Slice s always runs on participant s % threads: its block of W, dW and the optimiser's state stay in one
            // core's cache from step to step (see Optimizer's chunks).
            _owners = [.. Enumerable.Range(0, _slices)];
        }

        for (int slice = 0; slice < _slices; slice++)
        {
            // Each slice's buffers, allocated on first use here on the calling thread, not inside the slices: allocated by
            // two threads at once, as the slices first ran, they made every later two-thread step 1.4–2× slower than one
            // thread in BenchmarkDotNet (Zen 5 host); allocated here, the same step runs 1.26× faster on two threads.
            if (_wt[slice].Columns == 0)
            {
                _wt[slice] = new Matrix<T>(1, _inputs * WidestSlice);
                _columns[slice] = new Matrix<T>(1, Capacity * WidestSlice);
            }
        }

        // The forward pass counts each row's entries in one slice, unless this batch's rows are counted already: slice 0,
        // the first on the caller's thread to read the batch, whose pass waits on the index's cache misses anyway (Zen 4,
        // two threads: the step 348–364 µs with the counts in slice 0, 380–395 µs with them in slice 1, on the thread
        // that then groups the batch).
        // Stryker disable once Logical : || differs only for a forward pass over counted rows (it counts them again, to the same
        // counts) and a gradient before any grouping (which counts first): the same values
        bool count = !_gradient && !x.RowsCounted;
        _countingSlice = count ? 0 : -1;
        if (count)
        {
            x.RowCounts.AsSpan().Clear();
        }

        try
        {
            WorkerPool.Shared.RunOwned(this, _slices, threads, _owners);
            if (count)
            {
                x.RowsCounted = true;
            }
        }
        // Stryker disable once Block : releases references for the collector; no value depends on it
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
        var kernel = new SliceKernel(this, _x, h0, h1, chunk == _countingSlice, _wt[chunk].Row(0), _columns[chunk].Row(0));
        Simd.Dispatch<T, SliceKernel>(_path, ref kernel);
    }

    /// <summary>One slice of hidden units for <see cref="Simd.Dispatch"/>.</summary>
    private readonly ref struct SliceKernel(SparseInputKernels<T> owner, SparseBatch<T> x, int h0, int h1, bool countRows, Span<T> wt, Span<T> columns) : IVectorKernel<T>
    {
        private readonly Span<T> _wt = wt;
        private readonly Span<T> _columns = columns;

        public void Run<TVec, TOps>()
            where TVec : struct
            where TOps : ISimdOps<T, TVec> => owner.Slice<TVec, TOps>(x, h0, h1, countRows, _wt, _columns);
    }

    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private void Slice<TVec, TOps>(SparseBatch<T> x, int h0, int h1, bool countRows, Span<T> wt, Span<T> columns)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        int s = 4 * w;
        int m = x.Columns;
        int inputs = _inputs;
        int lanes = h1 - h0;
        ref T t = ref wt[0];
        ref T c = ref columns[0];

        if (!_gradient)
        {
            // Wᵀ for this slice: t[k·s + l] = W[h0 + l, k], zero beyond the last unit.
            RowsToLanes(_w, h0, lanes, inputs, wt, s);

            // Zᵀ[j] = Σ over column j's non-zeros of x_kj · Wᵀ[k], four vectors in registers; two columns at a time so
            // eight independent chains keep the FMA units busy (each element is still one chain in row order). Loads
            // from Wᵀ (in L2) and no stores in the loop: on the two-vCPU machines measured here, code that stores a lot
            // gains little from a second core, and this form does (a form that added into Zᵀ in L1 row by row was as
            // fast on one core and a third slower on two).
            // The forward pass of one slice also counts each row's entries, for the row grouping (SparseBatch.GroupByRow)
            // that follows it: the pass reads every entry anyway, and a count per entry costs it almost nothing.
            ref int rowCount = ref x.RowCounts[1];
            ref int begin = ref x.ColumnBegin[0];
            ref int end = ref x.ColumnEnd[0];
            ref ushort pixel = ref MemoryMarshal.GetArrayDataReference(x.Pixel);
            ref byte value = ref MemoryMarshal.GetArrayDataReference(x.Value);
            if (countRows)
            {
                SumLists<TVec, TOps, ushort, CountedColumns>(ref begin, ref end, ref pixel, ref value, ref x.Scale[0], ref t, s, 0, m, ref c, ref rowCount);
            }
            else
            {
                SumLists<TVec, TOps, ushort, Columns>(ref begin, ref end, ref pixel, ref value, ref x.Scale[0], ref t, s, 0, m, ref c, ref rowCount);
            }

            // Back to rows: Z[h0 + l, j] = Zᵀ[j][l].
            // Stryker disable once Boolean : the factor is 1: scaled or not, the same values
            LanesToRows(columns, s, _target, h0, lanes, m, T.One, scale: false);
            return;
        }

        // dZᵀ for this slice: c[j·s + l] = dZ[h0 + l, j], zero beyond the last unit.
        RowsToLanes(_w, h0, lanes, m, columns, s);

        // dWᵀ[k] = Σ over row k's non-zeros of x_kj · dZᵀ[j], columns in order, four vectors in registers: reads dZᵀ (in
        // L1) and writes each row of dWᵀ once.
        // Stryker disable once Equality : a pass with k0 = inputs has no rows
        for (int k0 = 0; k0 < inputs; k0 += RowBlock)
        {
            // Rows [k0, k1) into a block of dWᵀ that stays in L1, then straight into dW's rows (scaled by 1/m).
            int k1 = Math.Min(k0 + RowBlock, inputs);
            SumLists<TVec, TOps, int, Rows>(ref x.RowStart[0], ref x.RowStart[1], ref x.RowColumn[0], ref x.RowValue[0], ref x.Scale[0], ref c, s, k0, k1, ref t, ref Unsafe.NullRef<int>());

            // dW[h0 + l, k] = (1/m) · dWᵀ[k][l] for this block's rows.
            BlockTranspose.Run(ref t, s, k1 - k0, lanes, ref Unsafe.Add(ref _target.UnsafeStart, ((nint)h0 * _target.Stride) + k0), _target.Stride, _inverseM, scale: true, _path);
        }
    }

    /// <summary>Rows of dWᵀ computed before they are transposed into dW: a block of 16 × 64 floats stays in L1.</summary>
    private const int RowBlock = 16;

    /// <summary>
    /// output[(i − i0)·s …] = Σ over list i's entries e of scale[value[e]] · table[index[e]·s …] (four vectors), for
    /// lists [i0, i1), list i being entries [begin[i], end[i]): the forward pass's columns (index = row, table = Wᵀ) and
    /// the gradient's rows (index = column, table = dZᵀ; end is begin one further on). Two lists at a time, so eight
    /// independent chains keep the FMA units busy; each element is still one chain in entry order. With
    /// <typeparamref name="TPass"/> = <see cref="CountedColumns"/>, also adds 1 to counts[index[e]] for every entry; with
    /// <see cref="Columns"/> or <see cref="CountedColumns"/> (lists that lie anywhere in the data set's index), asks for the
    /// entries of the lists <see cref="PrefetchAhead"/> on, so that their cache misses overlap the work.
    /// </summary>
    // Compiled once, fully optimised (like Slice): too large to inline into Slice, and a tiered, call-counted copy ran
    // the forward pass at a quarter speed for the first thousand steps. Nothing in it may read a mutable static field:
    // the class-initialisation helper call such a read needs made the JIT keep all eight accumulators in memory.
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    private static void SumLists<TVec, TOps, TIndex, TPass>(ref int begin, ref int end, ref TIndex index, ref byte value, ref T scale, ref T table, int s, int i0, int i1, ref T output, ref int counts)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
        where TIndex : unmanaged, IBinaryInteger<TIndex>
        where TPass : struct, IListPass
    {
        int w = TOps.Count;
        int i = i0;

        // Stryker disable once Equality : a last pair left to the single-list loop gives the same values (each list is its own chain)
        for (; i + 2 <= i1; i += 2)
        {
            TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            TVec b0 = TOps.Zero, b1 = TOps.Zero, b2 = TOps.Zero, b3 = TOps.Zero;
            nint e = Unsafe.Add(ref begin, i);
            nint mid = Unsafe.Add(ref end, i);
            nint f = Unsafe.Add(ref begin, i + 1);
            nint last = Unsafe.Add(ref end, i + 1);
            // Stryker disable all : hints only: which lines are asked for changes no value (a hint never faults)
            if (TPass.Prefetch && i + PrefetchAhead + 2 <= i1)
            {
                for (int ahead = i + PrefetchAhead; ahead < i + PrefetchAhead + 2; ahead++)
                {
                    nint first = Unsafe.Add(ref begin, ahead);
                    nint count = Unsafe.Add(ref end, ahead) - first;
                    CacheHints.PrefetchRange(ref Unsafe.Add(ref index, first), count);
                    CacheHints.PrefetchRange(ref Unsafe.Add(ref value, first), count);
                }
            }

            // Stryker restore all

            // Stryker disable once Equality : the paired loop only interleaves two independent chains; the loops after it finish each list in the same order
            for (; e < mid && f < last; e++, f++)
            {
                TVec v = TOps.Broadcast(Unsafe.Add(ref scale, Unsafe.Add(ref value, e)));
                TVec u = TOps.Broadcast(Unsafe.Add(ref scale, Unsafe.Add(ref value, f)));
                nint k = nint.CreateTruncating(Unsafe.Add(ref index, e));
                nint l = nint.CreateTruncating(Unsafe.Add(ref index, f));
                TPass.Add(ref counts, k);
                TPass.Add(ref counts, l);
                ref T r = ref Unsafe.Add(ref table, k * s);
                ref T q = ref Unsafe.Add(ref table, l * s);
                a0 = TOps.FusedMultiplyAdd(v, TOps.Load(in r), a0);
                b0 = TOps.FusedMultiplyAdd(u, TOps.Load(in q), b0);
                a1 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, w)), a1);
                b1 = TOps.FusedMultiplyAdd(u, TOps.Load(in Unsafe.Add(ref q, w)), b1);
                a2 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 2 * w)), a2);
                b2 = TOps.FusedMultiplyAdd(u, TOps.Load(in Unsafe.Add(ref q, 2 * w)), b2);
                a3 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 3 * w)), a3);
                b3 = TOps.FusedMultiplyAdd(u, TOps.Load(in Unsafe.Add(ref q, 3 * w)), b3);
            }

            // The longer list's rest, one chain per element as before.
            Accumulate<TVec, TOps, TIndex, TPass>(ref index, ref value, ref scale, ref table, s, e, mid, ref a0, ref a1, ref a2, ref a3, ref counts);
            Accumulate<TVec, TOps, TIndex, TPass>(ref index, ref value, ref scale, ref table, s, f, last, ref b0, ref b1, ref b2, ref b3, ref counts);
            StoreFour<TVec, TOps>(ref Unsafe.Add(ref output, (i - i0) * s), a0, a1, a2, a3);
            StoreFour<TVec, TOps>(ref Unsafe.Add(ref output, (i + 1 - i0) * s), b0, b1, b2, b3);
        }

        for (; i < i1; i++)
        {
            TVec a0 = TOps.Zero, a1 = TOps.Zero, a2 = TOps.Zero, a3 = TOps.Zero;
            Accumulate<TVec, TOps, TIndex, TPass>(ref index, ref value, ref scale, ref table, s, Unsafe.Add(ref begin, i), Unsafe.Add(ref end, i), ref a0, ref a1, ref a2, ref a3, ref counts);
            StoreFour<TVec, TOps>(ref Unsafe.Add(ref output, (i - i0) * s), a0, a1, a2, a3);
        }
    }

    /// <summary>a += Σ over entries [e, end) of scale[value[e]] · table[index[e]·s …] (four vectors), counting as <see cref="SumLists"/> does.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void Accumulate<TVec, TOps, TIndex, TPass>(ref TIndex index, ref byte value, ref T scale, ref T table, int s, nint e, nint end, ref TVec a0, ref TVec a1, ref TVec a2, ref TVec a3, ref int counts)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
        where TIndex : unmanaged, IBinaryInteger<TIndex>
        where TPass : struct, IListPass
    {
        int w = TOps.Count;
        for (; e < end; e++)
        {
            TVec v = TOps.Broadcast(Unsafe.Add(ref scale, Unsafe.Add(ref value, e)));
            nint k = nint.CreateTruncating(Unsafe.Add(ref index, e));
            TPass.Add(ref counts, k);
            ref T r = ref Unsafe.Add(ref table, k * s);
            a0 = TOps.FusedMultiplyAdd(v, TOps.Load(in r), a0);
            a1 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, w)), a1);
            a2 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 2 * w)), a2);
            a3 = TOps.FusedMultiplyAdd(v, TOps.Load(in Unsafe.Add(ref r, 3 * w)), a3);
        }
    }

    /// <summary>
    /// Lists ahead whose entries the forward pass asks the memory system for: each image lies anywhere in the data set's
    /// index, and without the hints the first slice on each thread waited on one image's cache misses after another
    /// (Zen 4, two threads: 8 lists ahead took the first layer's forward pass from 160–180 µs to 135–145).
    /// </summary>
    private const int PrefetchAhead = 8;      // a constant: see SumLists

    /// <summary>What a <see cref="SumLists"/> pass does besides its sums (compile-time choices: no branch per entry).</summary>
    private interface IListPass
    {
        /// <summary>Gets whether the pass hints the entries of the lists ahead (lists scattered in memory).</summary>
        static abstract bool Prefetch { get; }

        /// <summary>Counts an entry's index, or not.</summary>
        static abstract void Add(ref int counts, nint index);
    }

    /// <summary>The gradient's pass over the batch by row: its own compact buffers, nothing to hint, nothing to count.</summary>
    private readonly struct Rows : IListPass
    {
        // Stryker disable once Boolean : a hint only (see PrefetchAhead)
        public static bool Prefetch => false;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(ref int counts, nint index)
        {
        }
    }

    /// <summary>The forward pass over the batch's columns, where they lie in the data set's index.</summary>
    private readonly struct Columns : IListPass
    {
        // Stryker disable once Boolean : a hint only (see PrefetchAhead)
        public static bool Prefetch => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(ref int counts, nint index)
        {
        }
    }

    /// <summary>As <see cref="Columns"/>, counting each row's entries: counts[index] += 1.</summary>
    private readonly struct CountedColumns : IListPass
    {
        // Stryker disable once Boolean : a hint only (see PrefetchAhead)
        public static bool Prefetch => true;

        [MethodImpl(MethodImplOptions.AggressiveInlining)]
        public static void Add(ref int counts, nint index) => Unsafe.Add(ref counts, index)++;
    }

    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    private static void StoreFour<TVec, TOps>(ref T destination, TVec a0, TVec a1, TVec a2, TVec a3)
        where TVec : struct
        where TOps : ISimdOps<T, TVec>
    {
        int w = TOps.Count;
        TOps.Store(a0, ref destination);
        TOps.Store(a1, ref Unsafe.Add(ref destination, w));
        TOps.Store(a2, ref Unsafe.Add(ref destination, 2 * w));
        TOps.Store(a3, ref Unsafe.Add(ref destination, 3 * w));
    }

    /// <summary>
    /// lanes[k·s + l] = m[r0 + l, k] for k &lt; count and l &lt; rows. Lanes [rows, s) keep whatever they held: each lane is
    /// its own chain of fused multiply-adds, and only lanes below rows are written back.
    /// </summary>
    private void RowsToLanes(Matrix<T> m, int r0, int rows, int count, Span<T> lanes, int s) =>
        // Stryker disable once Boolean : the factor is 1: scaled or not, the same values
        BlockTranspose.Run(ref Unsafe.Add(ref m.UnsafeStart, (nint)r0 * m.Stride), m.Stride, rows, count, ref lanes[0], s, T.One, scale: false, _path);

    /// <summary>m[r0 + l, k] = lanes[k·s + l] (times <paramref name="factor"/> when <paramref name="scale"/>) for l &lt; rows and k &lt; count.</summary>
    private void LanesToRows(Span<T> lanes, int s, Matrix<T> m, int r0, int rows, int count, T factor, bool scale) =>
        BlockTranspose.Run(ref lanes[0], s, count, rows, ref Unsafe.Add(ref m.UnsafeStart, (nint)r0 * m.Stride), m.Stride, factor, scale, _path);
}
