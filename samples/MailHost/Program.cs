// samples/MailHost: the SMTP, POP3 and IMAP servers and the delivery agent as a .NET Generic Host application. Its
// settings come from appsettings.json (which shows every one), the environment (Mail__Smtp__MaxMessageSize=1048576)
// and the flags (`dotnet run --project samples/MailHost -- --help`), each flag standing for settings. The host handles
// Ctrl+C and SIGTERM: the servers stop accepting and let their sessions finish.
using System.CommandLine;
using MailHostSample;

var flags = new CommandLineFlags();
flags.Command.SetAction((parsed, _) => MailHostApplication.RunAsync(flags, parsed));
// The Generic Host, not the parser, handles the signals that stop the program.
return await flags.Command.Parse(args).InvokeAsync(new InvocationConfiguration { ProcessTerminationTimeout = null });
