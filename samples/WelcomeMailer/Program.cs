// samples/WelcomeMailer: sends one welcome message, for example to the host of samples/MailHost:
//   dotnet run --project samples/WelcomeMailer -- 127.0.0.1 2525 alice@example.test Alice
// samples/WelcomeMailer.Tests tests the Mailer class with Mail.Protocols.Testing's MailTestServer.
using System.Globalization;
using WelcomeMailer;

if (args.Length != 4 || !int.TryParse(args[1], NumberStyles.None, CultureInfo.InvariantCulture, out var port))
{
    Console.Error.WriteLine("usage: WelcomeMailer HOST PORT ADDRESS NAME");
    return 2;
}
await new Mailer(new SmtpSettings(args[0], port), TimeSpan.FromSeconds(5)).SendWelcomeAsync(args[2], args[3]);
Console.WriteLine($"Welcome message sent to {args[2]}.");
return 0;
