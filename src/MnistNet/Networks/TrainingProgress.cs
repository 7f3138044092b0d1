namespace MnistNet.Networks;

/// <summary>A snapshot of full-batch gradient descent, reported to the progress callback.</summary>
/// <param name="Iteration">The 0-based iteration whose forward pass gave <paramref name="Loss"/> and <paramref name="Accuracy"/>.</param>
/// <param name="Iterations">The total number of iterations requested.</param>
/// <param name="Loss">Mean cross-entropy on the training batch, before that iteration's update.</param>
/// <param name="Accuracy">Fraction of training examples classified correctly, before that iteration's update.</param>
public readonly record struct TrainingProgress(int Iteration, int Iterations, double Loss, double Accuracy);
