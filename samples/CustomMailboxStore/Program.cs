// samples/CustomMailboxStore: the reference host over a mailbox store written for this sample, which keeps
// every message as an .eml file (see README.md). Mail survives a restart.
//   dotnet run --project samples/CustomMailboxStore -- ./mail-data
using System.Runtime.InteropServices;
using CustomMailboxStore;
using Mail.Protocols.Hosting;

if (args is ["--help" or "-h"] or { Length: > 1 })
{
    Console.WriteLine("usage: CustomMailboxStore [DATA-DIRECTORY]   (default ./mail-data)");
    return args.Length > 1 ? 2 : 0;
}
var dataDirectory = Path.GetFullPath(args is [var path] ? path : "mail-data");

// The only line that differs from an in-memory host: Store.
var options = new MailHostOptions { Store = new FileMailboxStore(dataDirectory) };
options.Domains.Add("example.test");
options.Users.Add(("alice@example.test", "alice"));

await using var host = new MailHost(options);
await host.StartAsync();

Console.WriteLine($"Mail.Protocols MailHost on FileMailboxStore ({dataDirectory}) is running:");
foreach (var (name, endpoint) in host.EndPoints)
{
    Console.WriteLine($"  {name,-11} {endpoint}");
}
Console.WriteLine("  user        alice@example.test (password alice)");
Console.WriteLine($"Send a message (swaks --server {host.EndPoints["smtp"]} --to alice@example.test), then look in {dataDirectory}.");
Console.WriteLine("Press Ctrl+C to stop.");

// Ctrl+C or a service manager's SIGTERM: stop gracefully instead of being killed.
var stop = new TaskCompletionSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
await stop.Task;
Console.WriteLine("Stopping (sessions get 10 seconds to finish)...");
await host.StopAsync(TimeSpan.FromSeconds(10));
return 0;

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
