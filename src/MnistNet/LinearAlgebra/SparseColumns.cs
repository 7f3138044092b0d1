using System.Buffers;
using System.Numerics;
using System.Runtime.Intrinsics;
using MnistNet.Threading;

namespace MnistNet.LinearAlgebra;

/// <summary>
/// A read-only, compressed copy of a matrix whose columns are mostly zeros — MNIST images, one per column, are 81 %
/// zero pixels — laid out for MnistNet's sparse training kernels, which then do work only for the non-zero
/// entries (about 5× less for MNIST).
/// </summary>
/// <remarks>
/// <para>Rows that are non-zero in at least <see cref="DenseRowMinDensity"/> of the columns (MNIST's central pixels) are,
/// when every value in them is a whole number of 255ths (as pixels scaled from bytes are), kept densely as those
/// bytes instead: one byte per entry, zeros included, read by dense kernels (<c>SparseKernels.DenseRowsForward</c> and
/// <c>DenseRowsGradient</c>), where the sparse form costs five or six bytes per non-zero in each of its two layouts and
/// a lookup per entry. For MNIST's seed batch that is 212 of 784 rows holding 76 % of the non-zeros. The other rows'
/// non-zeros go to the sparse layouts below.</para>
/// <para>Two layouts are kept, each built once: by column (for each example, its non-zero rows and values; used to
/// compute <c>W1·X</c> with each sum in registers) and, for each block of <see cref="BlockColumns"/> consecutive
/// columns, by row (for each row present in the block, its columns and values; used to accumulate <c>dZ1·Xᵀ</c> with
/// each row's sum in registers, stored once per block). For MNIST's 41 000-column seed batch this takes about 25 MB
/// (16 MB of sparse entries, 9 MB of dense rows' bytes; 68 MB with every non-zero sparse), against 128 MB for the dense
/// float matrix.</para>
/// <para>Build it once per data set with <see cref="FromDense"/> and reuse it for every training step; it does not
/// follow later changes to the dense matrix. <see cref="Density"/> tells whether the sparse kernels pay off:
/// <see cref="Networks.TwoLayerNetwork{T}.GradientDescent"/> uses them below <see cref="RecommendedMaxDensity"/>.</para>
/// </remarks>
/// <typeparam name="T">float or double.</typeparam>
public sealed class SparseColumns<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Columns per row-grouped block; equals the fused training step's cache block.</summary>
    public const int BlockColumns = ColumnBlocks.Width;

    /// <summary>The largest number of rows a sparse copy supports (row indices are 16-bit).</summary>
    public const int MaxRows = ushort.MaxValue + 1;

    /// <summary>The density (fraction of non-zero entries) below which the sparse kernels are faster than the dense ones on the machines measured.</summary>
    public const double RecommendedMaxDensity = 0.30;

    /// <summary>The fraction of columns in which a row must be non-zero to be kept densely (as bytes) rather than sparsely.</summary>
    /// <remarks>
    /// A fixed number, not tuned per machine, so a data set has the same layout (and a step the same bits) on every host.
    /// On Zen 4 the dense kernels cost ≈ 0.2 ns per (row, column) against ≈ 0.5–1.1 ns per non-zero for the sparse ones;
    /// in a harness of the seed's two passes 0.35 was as fast as any threshold from 0.3 to 0.42, and 0.2 and 0.5 were slower.
    /// </remarks>
    internal const double DenseRowMinDensity = 0.35;

    /// <summary>Columns per tile of the dense rows' bytes: each tile holds its columns for every dense row, 32 bytes per row.</summary>
    internal const int PanelTileColumns = 32;

    /// <summary>Bytes after the last tile, so that a vector load of 16 bytes from any entry stays inside the array.</summary>
    private const int PanelPadding = 64;

    private SparseColumns(int rows, int columns, long nonZeroCount, int[] denseRows, byte[] panel, int[] blockGroupStart, ushort[] groupRow, int[] groupStart, byte[] entryColumn, T[] entryValue, int[] columnStart, byte[] columnPosition, ushort[] rowIndex, T[] values)
    {
        Rows = rows;
        Columns = columns;
        NonZeroCount = nonZeroCount;
        DenseRows = denseRows;
        Panel = panel;
        BlockGroupStart = blockGroupStart;
        GroupRow = groupRow;
        GroupStart = groupStart;
        EntryColumn = entryColumn;
        EntryValue = entryValue;
        ColumnStart = columnStart;
        ColumnPosition = columnPosition;
        RowIndex = rowIndex;
        Values = values;
    }

    /// <summary>Gets the number of rows (features, 784 for MNIST).</summary>
    public int Rows { get; }

    /// <summary>Gets the number of columns (examples).</summary>
    public int Columns { get; }

    /// <summary>Gets the number of non-zero entries.</summary>
    public long NonZeroCount { get; }

    /// <summary>The rows kept densely as bytes (increasing); empty when none qualifies. Their non-zeros are in no sparse layout.</summary>
    internal int[] DenseRows { get; }

    /// <summary>
    /// The dense rows' values as bytes (value = byte / 255). Block b (of <see cref="BlockColumns"/> columns) starts at
    /// b · <see cref="BlockColumns"/> · DenseRows.Length; in it, tile t (columns [32t, 32t + 32) of the block) starts at
    /// t · 32 · DenseRows.Length, and dense row q of the tile at 32q. Columns past the matrix's last hold 0.
    /// </summary>
    internal byte[] Panel { get; }

    /// <summary>Where dense row <paramref name="q"/>'s byte for column <paramref name="column"/> (relative to its block's first) sits in its block's part of <see cref="Panel"/>.</summary>
    internal static int PanelOffset(int denseRows, int q, int column) =>
        (((column / PanelTileColumns * denseRows) + q) * PanelTileColumns) + (column % PanelTileColumns);

    /// <summary>Gets the fraction of entries that are non-zero, in [0, 1] (0 for an empty matrix).</summary>
    public double Density => Rows == 0 || Columns == 0 ? 0 : (double)NonZeroCount / ((long)Rows * Columns);

    /// <summary>For block b, its row groups are [BlockGroupStart[b], BlockGroupStart[b + 1]).</summary>
    internal int[] BlockGroupStart { get; }

    /// <summary>
    /// The row of each group. Within a block, groups are ordered by their number of entries, then by row: the
    /// weight-gradient kernel sums one group after another, and groups of like length let its loops end where the branch
    /// predictor expects (13 % less time per entry on Zen 4). Each group adds to its own row, so the order changes no value.
    /// </summary>
    internal ushort[] GroupRow { get; }

    /// <summary>Group g's entries are [GroupStart[g], GroupStart[g + 1]) of <see cref="EntryColumn"/> and <see cref="EntryValue"/>, in increasing column order.</summary>
    internal int[] GroupStart { get; }

    /// <summary>Column of each entry, relative to its block's first column.</summary>
    internal byte[] EntryColumn { get; }

    internal T[] EntryValue { get; }

    /// <summary>
    /// Slot k (for k in a block's columns [c0, c1)) holds entries [ColumnStart[k], ColumnStart[k + 1]) of
    /// <see cref="RowIndex"/> and <see cref="Values"/>, rows increasing: those of column c0 + <see cref="ColumnPosition"/>[k].
    /// Within a block the slots take the columns in order of their number of entries, then column: the forward kernel
    /// sums one column after another, and columns of like length let its loops end where the branch predictor expects
    /// (Zen 4, the columns left beside MNIST's dense rows: 15 % less time). Each column's sum is unchanged.
    /// </summary>
    internal int[] ColumnStart { get; }

    /// <summary>For slot k of the by-column layout, its column relative to its block's first (see <see cref="ColumnStart"/>).</summary>
    internal byte[] ColumnPosition { get; }

    internal ushort[] RowIndex { get; }

    internal T[] Values { get; }

    /// <summary>
    /// Builds the compressed copy of <paramref name="dense"/>; exact zeros are dropped, every other value (NaN included) is
    /// kept. Rows non-zero in at least 35 % of the columns whose values are all whole 255ths are kept as bytes (see the
    /// remarks on the class); the values read back are the same either way.
    /// </summary>
    /// <param name="dense">The matrix, one example per column; at most 65 536 rows.</param>
    /// <returns>A new <see cref="SparseColumns{T}"/>.</returns>
    /// <exception cref="ArgumentException"><paramref name="dense"/> has more than 65 536 rows.</exception>
    /// <remarks>The blocks are built in parallel (up to <see cref="MnistNetRuntime.MaxDegreeOfParallelism"/> threads); each writes its own part, so the copy is the same whatever the thread count.</remarks>
    public static SparseColumns<T> FromDense(Matrix<T> dense)
    {
        return Build(dense, DenseRowMinDensity);
    }

    /// <summary><see cref="FromDense(Matrix{T})"/> with another threshold for dense rows (tests: 0 keeps every byte-valued row with a non-zero densely, above 1 none).</summary>
    internal static SparseColumns<T> Build(Matrix<T> dense, double denseRowMinDensity)
    {
        ArgumentNullException.ThrowIfNull(dense);
        if (dense.Rows > MaxRows)
        {
            throw new ArgumentException($"Sparse columns support at most 65 536 rows; the matrix is {Matrix<T>.Shape(dense)}.", nameof(dense));
        }

        var builder = new Builder(dense, denseRowMinDensity);
        return builder.Build();
    }

    /// <summary>
    /// Builds a copy block by block in passes, each over all blocks in parallel: count each row's entries in each block;
    /// if some rows are dense enough, write their bytes (checking each value); write the block's groups of the other rows
    /// in order of length (then row); reorder those entries by column, visiting the rows in increasing order so that each
    /// column's rows increase. The counts fix where each block and each group writes.
    /// </summary>
    private sealed class Builder(Matrix<T> dense, double denseRowMinDensity) : IChunkJob
    {
        private readonly int _blocks = (dense.Columns + BlockColumns - 1) / BlockColumns;
        private int _pass;

        // Per block (prefix sums after the first pass): where its entries and its groups begin.
        private int[] _blockEntryStart = null!;
        private int[] _blockGroupStart = null!;

        // Per block and row (block · rows + row): the row's entries in the block, then the index of its group (if any).
        private int[] _rowCount = null!;
        private int[] _rowGroup = null!;
        private ushort[] _groupRow = null!;
        private int[] _groupStart = null!;
        private byte[] _entryColumn = null!;
        private T[] _entryValue = null!;
        private int[] _columnStart = null!;
        private byte[] _columnPosition = null!;
        private ushort[] _rowIndex = null!;
        private T[] _values = null!;
        private long _nonZeroCount;
        private int[] _denseRows = [];
        private bool[] _blockIsBytes = null!;
        private byte[] _panel = [];

        public SparseColumns<T> Build()
        {
            _blockEntryStart = new int[_blocks + 1];
            _blockGroupStart = new int[_blocks + 1];
            _rowCount = new int[_blocks * dense.Rows];
            _rowGroup = GC.AllocateUninitializedArray<int>(_blocks * dense.Rows);
            RunPass(0);
            SelectDenseRows();

            // A matrix holds at most Array.MaxLength elements, so its non-zeros fit in one array (and their count in an int).
            for (int b = 0; b < _blocks; b++)
            {
                _blockEntryStart[b + 1] += _blockEntryStart[b];
                _blockGroupStart[b + 1] += _blockGroupStart[b];
            }

            int entries = _blockEntryStart[_blocks];
            int groups = _blockGroupStart[_blocks];
            _groupRow = new ushort[groups];
            _groupStart = new int[groups + 1];
            _groupStart[groups] = entries;
            _entryColumn = GC.AllocateUninitializedArray<byte>(entries);
            _entryValue = GC.AllocateUninitializedArray<T>(entries);
            RunPass(1);

            _columnStart = new int[dense.Columns + 1];
            _columnStart[dense.Columns] = entries;
            _columnPosition = new byte[dense.Columns];
            _rowIndex = GC.AllocateUninitializedArray<ushort>(entries);
            _values = GC.AllocateUninitializedArray<T>(entries);
            RunPass(2);
            return new SparseColumns<T>(dense.Rows, dense.Columns, _nonZeroCount, _denseRows, _panel, _blockGroupStart, _groupRow, _groupStart, _entryColumn, _entryValue, _columnStart, _columnPosition, _rowIndex, _values);
        }

        private void RunPass(int pass)
        {
            _pass = pass;
            WorkerPool.Shared.Run(this, _blocks, MnistNetRuntime.MaxDegreeOfParallelism);
        }

        public void Execute(int chunk)
        {
            switch (_pass)
            {
                case 0:
                    Count(chunk);
                    break;
                case 1:
                    GroupByRow(chunk);
                    break;
                case 2:
                    GroupByColumn(chunk);
                    break;
                default:
                    _blockIsBytes[chunk] = WritePanel(chunk);
                    break;
            }
        }

        private (int C0, int C1) Range(int block)
        {
            int c0 = block * BlockColumns;
            return (c0, Math.Min(c0 + BlockColumns, dense.Columns));
        }

        /// <summary>Each row's entries in the block; the block's totals, stored one slot after the block for the prefix sums.</summary>
        private void Count(int block)
        {
            (int c0, int c1) = Range(block);
            int entries = 0;
            int groups = 0;
            Span<int> counts = _rowCount.AsSpan(block * dense.Rows, dense.Rows);
            for (int r = 0; r < dense.Rows; r++)
            {
                int count = CountNonZero(dense.Row(r)[c0..c1]);
                counts[r] = count;
                entries += count;
                groups += count > 0 ? 1 : 0;
            }

            _blockEntryStart[block + 1] = entries;
            _blockGroupStart[block + 1] = groups;
        }

        /// <summary>
        /// Picks the rows non-zero in at least <see cref="DenseRowMinDensity"/> of the columns and, if every value in them
        /// is a whole number of 255ths, stores them as bytes and takes them out of the sparse layouts (their counts become 0).
        /// </summary>
        private void SelectDenseRows()
        {
            int rows = dense.Rows;
            long[] totals = new long[rows];
            for (int b = 0; b < _blocks; b++)
            {
                for (int r = 0; r < rows; r++)
                {
                    totals[r] += _rowCount[(b * rows) + r];
                }
            }

            _nonZeroCount = totals.Sum();
            int[] candidates = [.. Enumerable.Range(0, rows).Where(r => totals[r] > 0 && totals[r] >= denseRowMinDensity * dense.Columns)];
            // (Bytes past Array.MaxLength could only come from a matrix near that size with most rows dense: keep it sparse.)
            if (candidates.Length == 0 || ((long)_blocks * BlockColumns * candidates.Length) + PanelPadding > Array.MaxLength)
            {
                return;
            }

            // Write the candidates' bytes, each block checking its values on the way; one value that is not a whole
            // 255th anywhere keeps every row sparse.
            _denseRows = candidates;
            _panel = new byte[(_blocks * BlockColumns * candidates.Length) + PanelPadding];
            _blockIsBytes = new bool[_blocks];
            RunPass(3);
            if (_blockIsBytes.Contains(false))
            {
                _denseRows = [];
                _panel = [];
                return;
            }

            for (int b = 0; b < _blocks; b++)
            {
                foreach (int r in _denseRows)
                {
                    int count = _rowCount[(b * rows) + r];
                    _blockEntryStart[b + 1] -= count;
                    _blockGroupStart[b + 1] -= count > 0 ? 1 : 0;
                    _rowCount[(b * rows) + r] = 0;
                }
            }
        }

        /// <summary>
        /// The block's part of the panel: each candidate dense row's bytes, tile by tile (see <see cref="Panel"/>); false,
        /// and the block left unfinished, at the first value that is not a whole number of 255ths.
        /// </summary>
        private bool WritePanel(int block)
        {
            (int c0, int c1) = Range(block);
            int count = _denseRows.Length;
            Span<byte> part = _panel.AsSpan(block * BlockColumns * count, BlockColumns * count);
            for (int q = 0; q < count; q++)
            {
                Span<T> row = dense.Row(_denseRows[q])[c0..c1];
                for (int j = 0; j < row.Length; j++)
                {
                    if (!TryGetByte(row[j], out byte b))
                    {
                        return false;
                    }

                    part[PanelOffset(count, q, j)] = b;
                }
            }

            return true;
        }

        /// <summary>
        /// The block's row groups, ordered by length, then row (each group's columns increasing). Where each group goes
        /// follows from the counts, so every row's entries are written once, straight to their place.
        /// </summary>
        private void GroupByRow(int block)
        {
            (int c0, int c1) = Range(block);
            int rows = dense.Rows;
            ReadOnlySpan<int> counts = _rowCount.AsSpan(block * rows, rows);
            Span<int> rowGroup = _rowGroup.AsSpan(block * rows, rows);
            int g0 = _blockGroupStart[block];
            int n = _blockGroupStart[block + 1] - g0;

            // Key: length, then row (below 2^16: at most 65 536 rows); unique, so the order is fixed.
            long[] keys = ArrayPool<long>.Shared.Rent(n);
            try
            {
                int k = 0;
                for (int r = 0; r < rows; r++)
                {
                    if (counts[r] > 0)
                    {
                        keys[k++] = ((long)counts[r] << 16) | (uint)r;
                    }
                }

                Array.Sort(keys, 0, n);
                int e = _blockEntryStart[block];
                for (k = 0; k < n; k++)
                {
                    int r = (int)(keys[k] & 0xFFFF);
                    _groupRow[g0 + k] = (ushort)r;
                    _groupStart[g0 + k] = e;
                    rowGroup[r] = g0 + k;
                    e += counts[r];
                }
            }
            finally
            {
                // Stryker disable once Statement : an array not returned to the pool only costs the pool a new one
                ArrayPool<long>.Shared.Return(keys);
            }

            byte[] entryColumn = _entryColumn;
            T[] entryValue = _entryValue;
            int w = Vector256<T>.Count;
            for (int r = 0; r < rows; r++)
            {
                if (counts[r] == 0)
                {
                    continue;
                }

                Span<T> row = dense.Row(r)[c0..c1];
                int e = _groupStart[rowGroup[r]];
                int j = 0;
                // Stryker disable once Equality : a last full vector left to the scalar loop finds the same entries
                for (; j + w <= row.Length; j += w)
                {
                    // Skip runs of zeros a vector at a time (81 % of MNIST's pixels are zero).
                    uint nonZero = ~Vector256.Equals(Vector256.Create<T>(row.Slice(j, w)), Vector256<T>.Zero).ExtractMostSignificantBits() & ((1u << w) - 1);
                    while (nonZero != 0)
                    {
                        int q = j + BitOperations.TrailingZeroCount(nonZero);
                        entryColumn[e] = (byte)q;
                        entryValue[e] = row[q];
                        e++;
                        nonZero &= nonZero - 1;
                    }
                }

                for (; j < row.Length; j++)
                {
                    if (row[j] != T.Zero)
                    {
                        entryColumn[e] = (byte)j;
                        entryValue[e] = row[j];
                        e++;
                    }
                }
            }
        }

        /// <summary>The block's by-column layout, from its row groups: a counting sort by column (slots in order of length, then column), rows visited in increasing order.</summary>
        private void GroupByColumn(int block)
        {
            (int c0, int c1) = Range(block);
            int rows = dense.Rows;
            ReadOnlySpan<int> counts = _rowCount.AsSpan(block * rows, rows);
            ReadOnlySpan<int> rowGroup = _rowGroup.AsSpan(block * rows, rows);
            int[] start = _columnStart;
            Span<int> next = stackalloc int[BlockColumns]; // zeroed: this class does not skip locals' initialisation
            int e0 = _blockEntryStart[block];
            int e1 = _blockEntryStart[block + 1];
            for (int e = e0; e < e1; e++)
            {
                next[_entryColumn[e]]++;
            }

            // Slots in order of entry count, then column (key below 2^31: a block's column has at most 65 536 entries).
            int n = c1 - c0;
            Span<int> keys = stackalloc int[BlockColumns];
            for (int j = 0; j < n; j++)
            {
                keys[j] = (next[j] << 8) | j;
            }

            keys[..n].Sort();
            int offset = e0;
            for (int k = 0; k < n; k++)
            {
                int j = keys[k] & 0xFF;
                int count = next[j];
                start[c0 + k] = offset;
                _columnPosition[c0 + k] = (byte)j;
                next[j] = offset;
                offset += count;
            }

            for (int r = 0; r < rows; r++)
            {
                if (counts[r] == 0)
                {
                    continue;
                }

                int first = _groupStart[rowGroup[r]];
                for (int e = first; e < first + counts[r]; e++)
                {
                    int p = next[_entryColumn[e]]++;
                    _rowIndex[p] = (ushort)r;
                    _values[p] = _entryValue[e];
                }
            }
        }
    }

    /// <summary>Whether <paramref name="value"/> is exactly <c>k / 255</c> (in <typeparamref name="T"/>) for a whole k in [0, 255]; k if so.</summary>
    internal static bool TryGetByte(T value, out byte k)
    {
        T scale = T.CreateTruncating(255);
        T rounded = T.Round(value * scale);
        k = 0;
        if (!(rounded >= T.Zero && rounded <= scale))
        {
            return false;
        }

        k = byte.CreateTruncating(rounded);
        return T.CreateTruncating(k) / scale == value;
    }

    private static int CountNonZero(ReadOnlySpan<T> values)
    {
        int count = 0;
        int j = 0;
        int w = Vector256<T>.Count;
        // Stryker disable once Equality : a last full vector left to the scalar loop counts the same
        for (; j + w <= values.Length; j += w)
        {
            count += w - BitOperations.PopCount(Vector256.Equals(Vector256.Create(values.Slice(j, w)), Vector256<T>.Zero).ExtractMostSignificantBits());
        }

        for (; j < values.Length; j++)
        {
            count += values[j] != T.Zero ? 1 : 0;
        }

        return count;
    }
}
