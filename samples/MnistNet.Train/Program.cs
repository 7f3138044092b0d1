using System.Globalization;
using System.Text;
using MnistNet.Train;

// The seed's recipe, end to end: shuffle (seed 0), hold out 1 000 examples as dev, train 784-10-10 with
// α = 0.10 for 500 full-batch iterations, report accuracy like the blog post, show a few predictions.
// The recipes live in src/MnistNet.Tool/Train (shared with `mnistnet train`); this sample prints plain lines.
CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;

return TrainRecipe.Run(args, "dotnet run -c Release --project samples/MnistNet.Train --", Console.Out, Console.Error, () => new PlainDisplay(Console.Out), writeHistory: false);
