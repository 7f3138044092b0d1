using System.Globalization;
using System.Text;
using MnistNet.Tool;

CultureInfo.DefaultThreadCurrentCulture = CultureInfo.InvariantCulture;
CultureInfo.CurrentCulture = CultureInfo.InvariantCulture;
Console.OutputEncoding = Encoding.UTF8;
return Cli.Run(args, Console.Out, Console.Error);
