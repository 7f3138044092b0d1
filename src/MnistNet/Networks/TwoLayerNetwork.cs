using System.Numerics;
using MnistNet.Activations;
using MnistNet.Diagnostics;
using MnistNet.LinearAlgebra;
using MnistNet.Training;

namespace MnistNet.Networks;

/// <summary>
/// The seed's network: inputs → dense + ReLU (hidden units) → dense + softmax (outputs), trained on the mean
/// cross-entropy by gradient descent. Methods keep the seed's names (<c>init_params</c> → <see cref="InitParams"/>,
/// <c>forward_prop</c> → <see cref="ForwardProp(Matrix{T})"/>, …) with the seed's three bugs fixed.
/// </summary>
/// <remarks>
/// <para>Convention: one example per column. X is inputs × m, labels are m class indices.</para>
/// <code>
/// Z1 = W1·X + b1      A1 = ReLU(Z1)            (hidden × m)
/// Z2 = W2·A1 + b2     A2 = softmax(Z2)         (outputs × m, per column, max subtracted)
/// L  = −(1/m) Σ_j log A2[y_j, j]
/// dZ2 = A2 − onehot(Y)            dW2 = (1/m) dZ2·A1ᵀ    db2 = (1/m) Σ_columns dZ2
/// dZ1 = (W2ᵀ·dZ2) ⊙ [Z1 &gt; 0]    dW1 = (1/m) dZ1·Xᵀ     db1 = (1/m) Σ_columns dZ1
/// W ← W − α dW,  b ← b − α db
/// </code>
/// <para>Every method that allocates has a form that writes into buffers you own
/// (<see cref="ForwardPass{T}"/>, <see cref="Gradients{T}"/>, <see cref="TrainingWorkspace{T}"/>).
/// Reading methods (<see cref="Predict"/>, <see cref="GetAccuracy(Matrix{T}, ReadOnlySpan{ushort})"/>, the allocating
/// <see cref="ForwardProp(Matrix{T})"/>) are safe to call from several threads at once while nothing trains the network.</para>
/// </remarks>
/// <typeparam name="T">float (fast) or double (precise, for gradient checks).</typeparam>
public sealed class TwoLayerNetwork<T>
    where T : unmanaged, IFloatingPointIeee754<T>
{
    /// <summary>Creates a network and initialises it with <see cref="InitParams"/>.</summary>
    /// <param name="inputs">Input size (784 for 28 × 28 images).</param>
    /// <param name="hidden">Hidden units (the seed uses 10).</param>
    /// <param name="outputs">Classes (10 digits).</param>
    /// <param name="seed">Seed for the initial parameters; the same seed gives the same bits.</param>
    /// <exception cref="ArgumentOutOfRangeException">A size is not positive, or <paramref name="outputs"/> exceeds 65 536 (labels are 16-bit class indices).</exception>
    public TwoLayerNetwork(int inputs = 784, int hidden = 10, int outputs = 10, long seed = 0)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(inputs, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(hidden, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(outputs, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(outputs, Layers.SoftmaxCrossEntropy<T>.MaxClasses);
        Network = new DenseNetwork<T>([inputs, hidden, outputs], Initialization.Uniform, seed);
        W1 = Network.Weights[0];
        B1 = Network.Biases[0];
        W2 = Network.Weights[1];
        B2 = Network.Biases[1];
    }

    /// <summary>
    /// Gets the network of layers this façade runs on — <c>Dense(inputs→hidden), ReLU, Dense(hidden→outputs),
    /// SoftmaxCrossEntropy</c> — sharing its parameters (<see cref="W1"/> is <c>Network.Weights[0]</c>, …): save it, evaluate
    /// it or train it further with the mini-batch tools.
    /// </summary>
    public DenseNetwork<T> Network { get; }

    /// <summary>Gets the input size.</summary>
    public int Inputs => W1.Columns;

    /// <summary>Gets the number of hidden units.</summary>
    public int Hidden => W1.Rows;

    /// <summary>Gets the number of outputs (classes).</summary>
    public int Outputs => W2.Rows;

    /// <summary>Gets the hidden layer's weights (hidden × inputs). Its elements may be read and written.</summary>
    public Matrix<T> W1 { get; }

    /// <summary>Gets the hidden layer's biases (hidden × 1).</summary>
    public Matrix<T> B1 { get; }

    /// <summary>Gets the output layer's weights (outputs × hidden).</summary>
    public Matrix<T> W2 { get; }

    /// <summary>Gets the output layer's biases (outputs × 1).</summary>
    public Matrix<T> B2 { get; }

    /// <summary>
    /// Sets every parameter uniformly in [−0.5, 0.5), as the seed does (<c>np.random.rand(...) − 0.5</c>), drawing
    /// W1, b1, W2 and b2 in that order, row by row, from one <see cref="Prng"/> seeded with <paramref name="seed"/>.
    /// </summary>
    /// <param name="seed">The seed; the same seed gives the same bits.</param>
    public void InitParams(long seed) => Network.Initialize(Initialization.Uniform, seed);

    /// <summary>Runs the forward pass over <paramref name="x"/> and returns every intermediate value.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m, one example per column.</param>
    /// <returns>Z1, A1, Z2 and A2 for the batch.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not have <see cref="Inputs"/> rows.</exception>
    public ForwardPass<T> ForwardProp(Matrix<T> x)
    {
        ArgumentNullException.ThrowIfNull(x);
        var pass = new ForwardPass<T>(this, x.Columns);
        ForwardProp(x, pass);
        return pass;
    }

    /// <summary>Runs the forward pass over <paramref name="x"/> into <paramref name="destination"/>, allocating nothing.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="destination">Buffers sized for this network and m columns.</param>
    /// <exception cref="ArgumentException">A shape does not match.</exception>
    public void ForwardProp(Matrix<T> x, ForwardPass<T> destination)
    {
        CheckInputs(x, destination, nameof(destination));
        NetworkWorkspace<T> workspace = destination.Workspace;
        workspace.Context.Begin(x.Columns, default, training: false);
        Network.Forward(x, workspace.Context, workspace.OutputBuffers);
    }

    /// <summary>Back-propagates the mean cross-entropy of a forward pass and returns the gradients.</summary>
    /// <param name="x">The inputs the forward pass used (<see cref="Inputs"/> × m).</param>
    /// <param name="labels">The m labels, each in [0, <see cref="Outputs"/>).</param>
    /// <param name="forward">The forward pass over <paramref name="x"/>.</param>
    /// <returns>New gradient buffers.</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public Gradients<T> BackwardProp(Matrix<T> x, ReadOnlySpan<ushort> labels, ForwardPass<T> forward)
    {
        ArgumentNullException.ThrowIfNull(x);
        var gradients = new Gradients<T>(this, x.Columns);
        BackwardProp(x, labels, forward, gradients);
        return gradients;
    }

    /// <summary>Back-propagates into <paramref name="destination"/>, allocating nothing.</summary>
    /// <param name="x">The inputs the forward pass used (<see cref="Inputs"/> × m).</param>
    /// <param name="labels">The m labels, each in [0, <see cref="Outputs"/>).</param>
    /// <param name="forward">The forward pass over <paramref name="x"/>.</param>
    /// <param name="destination">Gradient buffers sized for this network and m columns.</param>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public void BackwardProp(Matrix<T> x, ReadOnlySpan<ushort> labels, ForwardPass<T> forward, Gradients<T> destination)
    {
        CheckInputs(x, forward, nameof(forward));
        ArgumentNullException.ThrowIfNull(destination);
        CheckLabels(x, labels);
        if (destination.Columns != x.Columns)
        {
            throw new ArgumentException($"The gradient buffers are sized for {destination.Columns} columns, but the batch has {x.Columns}.", nameof(destination));
        }

        CheckSameNetworkShape(destination.DW1, W1, nameof(destination));
        CheckSameNetworkShape(destination.DW2, W2, nameof(destination));

        // The layers' backward passes, top down: softmax/cross-entropy, dense 2, ReLU, dense 1 (see the remarks above).
        NetworkWorkspace<T> target = destination.Workspace;
        target.Context.Begin(x.Columns, labels, training: true);
        Network.Backward(x, target.Context, forward.Workspace.OutputBuffers, target.InputGradientBuffers, target.GradientBuffers);
    }

    /// <summary>Takes one gradient-descent step: <c>W ← W − α dW</c> and <c>b ← b − α db</c> for both layers.</summary>
    /// <param name="gradients">Gradients from <see cref="BackwardProp(Matrix{T}, ReadOnlySpan{ushort}, ForwardPass{T}, Gradients{T})"/>.</param>
    /// <param name="alpha">The learning rate α (finite, &gt; 0).</param>
    /// <exception cref="ArgumentException">The gradients belong to a network of another shape.</exception>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="alpha"/> is not finite and positive.</exception>
    public void UpdateParams(Gradients<T> gradients, T alpha)
    {
        ArgumentNullException.ThrowIfNull(gradients);
        CheckAlpha(alpha);
        CheckSameNetworkShape(gradients.DW1, W1, nameof(gradients));
        CheckSameNetworkShape(gradients.DW2, W2, nameof(gradients));
        UpdateCore(gradients, alpha);
    }

    /// <summary>
    /// One full training step on a batch — forward, backward, update — using only the buffers of
    /// <paramref name="workspace"/>: no allocation.
    /// </summary>
    /// <remarks>
    /// The step is fused: X is streamed once, block by block, through the forward and backward passes, which is
    /// about twice as fast as <see cref="ForwardProp(Matrix{T}, ForwardPass{T})"/> + <see cref="BackwardProp(Matrix{T}, ReadOnlySpan{ushort}, ForwardPass{T}, Gradients{T})"/>
    /// + <see cref="UpdateParams"/> on large batches. The two agree to float rounding (the gradient sums are added in
    /// another order); the fused result is bit-identical on any number of threads.
    /// </remarks>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m (m ≥ 1).</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="alpha">The learning rate α.</param>
    /// <param name="workspace">Buffers for m columns; afterwards they hold this step's forward pass and gradients.</param>
    /// <returns>The mean cross-entropy of the batch before the update (computed from the logits, so always finite for finite parameters).</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or <paramref name="alpha"/> is out of range.</exception>
    public double TrainStep(Matrix<T> x, ReadOnlySpan<ushort> labels, T alpha, TrainingWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(workspace);
        CheckInputs(x, workspace.Forward, nameof(workspace));
        CheckNotEmpty(x.Columns);
        CheckStep(workspace, alpha);

        // The door validates the labels.
        double loss = Network.ComputeGradients(x, labels, workspace.Workspace);
        UpdateCore(workspace.Gradients, alpha);
        return loss;
    }

    /// <summary>
    /// One full training step on a sparse batch — forward, backward, update — doing work only for the non-zero inputs,
    /// with no allocation. Use it when most inputs are zero (MNIST: 81 %); see <see cref="SparseColumns{T}.Density"/>.
    /// </summary>
    /// <param name="x">The batch, built once with <see cref="SparseColumns{T}.FromDense"/> (<see cref="Inputs"/> rows, m ≥ 1 columns).</param>
    /// <param name="labels">The m labels.</param>
    /// <param name="alpha">The learning rate α.</param>
    /// <param name="workspace">Buffers for m columns; afterwards they hold this step's forward pass and gradients.</param>
    /// <returns>The mean cross-entropy of the batch before the update.</returns>
    /// <remarks>
    /// Agrees with the dense <see cref="TrainStep(Matrix{T}, ReadOnlySpan{ushort}, T, TrainingWorkspace{T})"/> to float rounding (the sums run over
    /// the non-zero entries only, in another order); bit-identical on any number of threads.
    /// </remarks>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label or <paramref name="alpha"/> is out of range.</exception>
    public double TrainStep(SparseColumns<T> x, ReadOnlySpan<ushort> labels, T alpha, TrainingWorkspace<T> workspace)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(workspace);
        if (x.Rows != Inputs)
        {
            throw new ArgumentException($"Expected inputs with {Inputs} rows (one example per column), got {x.Rows} × {x.Columns}.", nameof(x));
        }

        if (workspace.Columns != x.Columns)
        {
            throw new ArgumentException($"The workspace is sized for {workspace.Columns} columns, but the batch has {x.Columns}.", nameof(workspace));
        }

        CheckNotEmpty(x.Columns);
        CheckStep(workspace, alpha);

        double loss = Network.ComputeGradients(x, labels, workspace.Workspace);
        UpdateCore(workspace.Gradients, alpha);
        return loss;
    }

    /// <summary>
    /// The seed's <c>gradient_descent</c>: <paramref name="iterations"/> full-batch steps on (<paramref name="x"/>, <paramref name="labels"/>),
    /// reporting progress on iteration 0, every <paramref name="progressInterval"/> iterations, and on the last one.
    /// </summary>
    /// <remarks>
    /// When fewer than <see cref="SparseColumns{T}.RecommendedMaxDensity"/> of the inputs are non-zero (MNIST: 19 %),
    /// the steps run on the sparse kernels (<see cref="TrainStep(SparseColumns{T}, ReadOnlySpan{ushort}, T, TrainingWorkspace{T})"/>),
    /// otherwise on the dense fused step. Either way the result depends only on the data and the seed.
    /// </remarks>
    /// <param name="x">Training inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m training labels.</param>
    /// <param name="alpha">The learning rate α (the seed uses 0.10).</param>
    /// <param name="iterations">Number of steps (the seed uses 500).</param>
    /// <param name="progress">Called with the loss and accuracy measured in the reported iteration's forward pass; may be null.</param>
    /// <param name="progressInterval">Report every this many iterations (the seed uses 10).</param>
    /// <param name="cancellationToken">Checked between steps; the parameters are then those after the last completed step.</param>
    /// <returns>The loss and accuracy measured in the last iteration (before its update); default when <paramref name="iterations"/> is 0.</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">An argument is out of range.</exception>
    /// <exception cref="TrainingDivergedException">The loss became NaN or infinite.</exception>
    /// <exception cref="OperationCanceledException"><paramref name="cancellationToken"/> was cancelled.</exception>
    public TrainingProgress GradientDescent(
        Matrix<T> x,
        ReadOnlySpan<ushort> labels,
        T alpha,
        int iterations,
        Action<TrainingProgress>? progress = null,
        int progressInterval = 10,
        CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentOutOfRangeException.ThrowIfNegative(iterations);
        ArgumentOutOfRangeException.ThrowIfLessThan(progressInterval, 1);
        var workspace = new TrainingWorkspace<T>(this, x.Columns);
        int[] predictions = new int[x.Columns];
        TrainingProgress last = default;

        // Mostly-zero inputs (MNIST) train faster on the sparse kernels; the compressed copy is built once.
        // Stryker disable once Logical,Equality : when one of these fails, both steps throw the same exception first, or no step runs
        bool eligible = iterations > 0 && x.Rows == Inputs && x.Rows <= SparseColumns<T>.MaxRows && x.Columns > 0;
        // Stryker disable once Equality,Logical,Conditional : which step runs changes speed only: both skip nothing but exact zeros (GradientDescent_IsTrainStepRepeated_OnSparseAndDenseInputs)
        SparseColumns<T>? sparse = eligible && MeasureDensity(x) < SparseColumns<T>.RecommendedMaxDensity ? SparseColumns<T>.FromDense(x) : null;
        for (int i = 0; i < iterations; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            double loss = sparse is null ? TrainStep(x, labels, alpha, workspace) : TrainStep(sparse, labels, alpha, workspace);
            if (!double.IsFinite(loss))
            {
                throw new TrainingDivergedException(i, loss);
            }

            bool report = i % progressInterval == 0 || i == iterations - 1;
            if (report)
            {
                GetPredictions(workspace.Forward.A2, predictions);
                last = new TrainingProgress(i, iterations, loss, GetAccuracy(predictions, labels));
                progress?.Invoke(last);
            }
        }

        return last;
    }

    /// <summary>Returns a <see cref="DenseNetwork{T}"/> with this network's sizes and a copy of its parameters (the same function), to save it or train it further with the mini-batch tools.</summary>
    /// <returns>A new Inputs-Hidden-Outputs network.</returns>
    public DenseNetwork<T> ToDenseNetwork() => Network.Clone();

    /// <summary>The seed's <c>get_predictions</c>: the row index of each column's largest value (the first one on ties, like <c>np.argmax</c>).</summary>
    /// <param name="probabilities">Outputs × m scores, such as <see cref="ForwardPass{T}.A2"/>.</param>
    /// <returns>m predicted classes.</returns>
    public static int[] GetPredictions(Matrix<T> probabilities)
    {
        ArgumentNullException.ThrowIfNull(probabilities);
        int[] result = new int[probabilities.Columns];
        GetPredictions(probabilities, result);
        return result;
    }

    /// <summary>Writes the index of each column's largest value into <paramref name="destination"/>.</summary>
    /// <param name="probabilities">Outputs × m scores.</param>
    /// <param name="destination">m entries.</param>
    /// <exception cref="ArgumentException"><paramref name="destination"/> does not have m entries.</exception>
    public static void GetPredictions(Matrix<T> probabilities, Span<int> destination) => ClassificationMetrics.ArgMax(probabilities, destination);

    /// <summary>Predicts the class of each column of <paramref name="x"/>. Thread-safe.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <returns>m predicted classes.</returns>
    /// <exception cref="ArgumentException"><paramref name="x"/> does not have <see cref="Inputs"/> rows.</exception>
    public int[] Predict(Matrix<T> x) => Network.Predict(x);

    /// <summary>The seed's <c>get_accuracy</c>: the fraction of <paramref name="predictions"/> equal to <paramref name="labels"/>.</summary>
    /// <param name="predictions">Predicted classes.</param>
    /// <param name="labels">True classes, as many as <paramref name="predictions"/>.</param>
    /// <returns>A value in [0, 1]; 0 for empty inputs.</returns>
    /// <exception cref="ArgumentException">The lengths differ.</exception>
    public static double GetAccuracy(ReadOnlySpan<int> predictions, ReadOnlySpan<ushort> labels) => ClassificationMetrics.FractionCorrect(predictions, labels);

    /// <summary>Returns the fraction of the columns of <paramref name="x"/> classified as <paramref name="labels"/> says. Thread-safe.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m.</param>
    /// <param name="labels">The m true classes.</param>
    /// <returns>A value in [0, 1].</returns>
    /// <exception cref="ArgumentException">A shape does not match.</exception>
    public double GetAccuracy(Matrix<T> x, ReadOnlySpan<ushort> labels)
    {
        ArgumentNullException.ThrowIfNull(x);
        return Network.GetAccuracy(x, labels);
    }

    /// <summary>Returns the mean cross-entropy of the network on (<paramref name="x"/>, <paramref name="labels"/>), computed stably from the logits. Thread-safe.</summary>
    /// <param name="x">Inputs, <see cref="Inputs"/> × m (m ≥ 1).</param>
    /// <param name="labels">The m true classes.</param>
    /// <returns>The mean loss.</returns>
    /// <exception cref="ArgumentException">A shape does not match, or the batch is empty.</exception>
    /// <exception cref="ArgumentOutOfRangeException">A label is out of range.</exception>
    public double Loss(Matrix<T> x, ReadOnlySpan<ushort> labels)
    {
        ArgumentNullException.ThrowIfNull(x);
        CheckLabels(x, labels);
        return Network.Loss(x, labels);
    }

    /// <summary>W ← W − α dW and b ← b − α db for both layers: the plain gradient-descent rule of <see cref="Sgd{T}"/>.</summary>
    private void UpdateCore(Gradients<T> g, T alpha) => Sgd<T>.Descend(Network.Parameters, g.Workspace.GradientBuffers, alpha);

    /// <summary>Fraction of non-zero entries, counted over a sample of at most 256 columns spread evenly over the batch.</summary>
    private static double MeasureDensity(Matrix<T> x)
    {
        // Stryker disable once Arithmetic : the sample only picks the faster step (see GradientDescent)
        int step = Math.Max(1, x.Columns / 256);
        long nonZero = 0;
        long total = 0;
        for (int r = 0; r < x.Rows; r++)
        {
            Span<T> row = x.Row(r);
            for (int j = 0; j < row.Length; j += step)
            {
                nonZero += row[j] != T.Zero ? 1 : 0;
                total++;
            }
        }

        return (double)nonZero / total; // x has at least one row and column here
    }

    private static void CheckAlpha(T alpha)
    {
        if (!T.IsFinite(alpha) || alpha <= T.Zero)
        {
            throw new ArgumentOutOfRangeException(nameof(alpha), alpha, "The learning rate must be finite and greater than 0.");
        }
    }

    private void CheckStep(TrainingWorkspace<T> workspace, T alpha)
    {
        CheckAlpha(alpha);
        CheckSameNetworkShape(workspace.Gradients.DW1, W1, nameof(workspace));
        CheckSameNetworkShape(workspace.Gradients.DW2, W2, nameof(workspace));
    }

    private static void CheckSameNetworkShape(Matrix<T> gradient, Matrix<T> parameter, string paramName)
    {
        if (gradient.Rows != parameter.Rows || gradient.Columns != parameter.Columns)
        {
            throw new ArgumentException($"The buffers were made for a network of another shape: expected a {Matrix<T>.Shape(parameter)} gradient, got {Matrix<T>.Shape(gradient)}.", paramName);
        }
    }

    private void CheckInputs(Matrix<T> x, ForwardPass<T> pass, string passName)
    {
        ArgumentNullException.ThrowIfNull(x);
        ArgumentNullException.ThrowIfNull(pass, passName);
        if (x.Rows != Inputs)
        {
            throw new ArgumentException($"Expected inputs with {Inputs} rows (one example per column), got a {Matrix<T>.Shape(x)} matrix.", nameof(x));
        }

        if (pass.Columns != x.Columns || pass.Z1.Rows != Hidden || pass.Z2.Rows != Outputs)
        {
            throw new ArgumentException($"The forward buffers are {Matrix<T>.Shape(pass.Z1)} and {Matrix<T>.Shape(pass.Z2)}; this network and batch need {Hidden} × {x.Columns} and {Outputs} × {x.Columns}.", passName);
        }
    }

    private void CheckLabels(Matrix<T> x, ReadOnlySpan<ushort> labels) => CheckBatch(x.Columns, labels);

    private static void CheckNotEmpty(int columns, string paramName = "x")
    {
        if (columns == 0)
        {
            throw new ArgumentException("The batch is empty: training needs at least one column.", paramName);
        }
    }

    private void CheckBatch(int columns, ReadOnlySpan<ushort> labels)
    {
        CheckNotEmpty(columns);
        CrossEntropy.RequireOneLabelPerColumn(columns, labels, nameof(labels));
        CrossEntropy.ValidateLabels(labels, Outputs, nameof(labels));
    }
}
