// samples/MailHost: runs the in-memory reference host from the command line.
// `dotnet run --project samples/MailHost -- --help` lists the options.
using System.Runtime.InteropServices;
using System.Security.Cryptography.X509Certificates;
using Mail.Protocols.Hosting;
using Mail.Protocols.InMemory;
using Mail.Protocols.Maildir;
using Mail.Protocols.Maildir.Queue;
using MailHostSample;
using Microsoft.Extensions.Logging;

CommandLine parsed;
try
{
    parsed = CommandLine.Parse(args);
}
catch (FormatException ex)
{
    Console.Error.WriteLine($"error: {ex.Message}");
    Console.Error.WriteLine(CommandLine.Usage);
    return 2;
}
if (parsed.ShowHelp)
{
    Console.WriteLine(CommandLine.Usage);
    return 0;
}

using var loggerFactory = LoggerFactory.Create(builder =>
{
    builder.AddSimpleConsole(o => o.SingleLine = true);
    builder.SetMinimumLevel(parsed.Quiet ? LogLevel.Warning : LogLevel.Information);
});

var options = parsed.Options;
options.LoggerFactory = loggerFactory;
if (parsed.CertificatePath is { } certificatePath)
{
    options.Certificate = X509CertificateLoader.LoadPkcs12FromFile(certificatePath, parsed.CertificatePassword);
}

// Durable backends when asked for: Maildir++ mailboxes and a queue directory that survive restarts and crashes.
using var maildir = parsed.Store.StartsWith("maildir:", StringComparison.Ordinal)
    ? new MaildirMailboxStore(new MaildirStoreOptions { RootPath = parsed.Store["maildir:".Length..], Fsync = parsed.Fsync, FsyncFlagsAndExpunges = parsed.FsyncFlags, LoggerFactory = loggerFactory })
    : null;
using var queue = parsed.Queue.StartsWith("dir:", StringComparison.Ordinal)
    ? new FileMessageQueue(new FileMessageQueueOptions { Path = parsed.Queue["dir:".Length..], Fsync = parsed.Fsync, LoggerFactory = loggerFactory })
    : null;
options.Store = maildir;
options.Queue = queue;

await using var host = new MailHost(options);
try
{
    await host.StartAsync();
}
catch (System.Net.Sockets.SocketException ex)
{
    // A port in use or an address this machine does not have: say which, not a stack trace.
    Console.Error.WriteLine($"error: cannot listen on {options.BindAddress}: {ex.Message} ({ex.SocketErrorCode}); choose other ports with --smtp, --pop3, --imap and the rest, or 0 to turn one off");
    return 1;
}

// Show each delivery as it lands in a mailbox, so a first run shows the whole path.
var subscriptions = options.Users.Select(u => host.Store.Subscribe(u.Address)).ToList();
var printers = subscriptions.Select(s => DeliveryPrinter.PrintAsync(s, parsed.Quiet)).ToList();

Console.WriteLine($"Mail.Protocols MailHost is running (store {parsed.Store}, queue {parsed.Queue}):");
foreach (var (name, endpoint) in host.EndPoints)
{
    Console.WriteLine($"  {name,-11} {endpoint}");
}
Console.WriteLine($"  domains     {string.Join(", ", options.Domains)}");
Console.WriteLine($"  users       {options.Users.Count} ({string.Join(", ", options.Users.Take(5).Select(u => u.Address))}{(options.Users.Count > 5 ? ", ..." : "")})");
if (options.AddressBook is InMemoryAddressBook aliases)
{
    Console.WriteLine($"  aliases     {aliases.Count} (aliases, lists and catch-alls)");
}
Console.WriteLine($"  subaddress  {(options.Addressing.SubaddressSeparator is { } separator ? $"user{separator}tag@" : "off")}");
Console.WriteLine($"  forwards    {(options.SenderRewriting is { } srs ? $"sent from SRS addresses of {srs.Domain}" : "keep the writer's sender (no SRS)")}");
Console.WriteLine($"  plaintext AUTH {(options.AllowPlaintextAuth ? "allowed" : "only after STARTTLS")}; certificate {host.Certificate.Subject}");
Console.WriteLine(options.Delivery is null ? "  outbound    kept in the queue (--no-delivery)"
    : options.Delivery.SmartHost is { } smart ? $"  outbound    through {smart.Host}:{smart.Port}"
    : $"  outbound    delivered by MX lookup, port {options.Delivery.Port}");
Console.WriteLine("Press Ctrl+C to stop.");

// Ctrl+C or a service manager's SIGTERM stop gracefully (ProcessExit would let the runtime exit before the sessions end).
var stop = new TaskCompletionSource();
using var onInterrupt = PosixSignalRegistration.Create(PosixSignal.SIGINT, Stop);
using var onTerminate = PosixSignalRegistration.Create(PosixSignal.SIGTERM, Stop);
using var onHangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ReportMemory);
await stop.Task;
Console.WriteLine("Stopping (sessions get 10 seconds to finish)...");
await host.StopAsync(TimeSpan.FromSeconds(10));
subscriptions.ForEach(s => s.Dispose());
await Task.WhenAll(printers);
return 0;

// SIGHUP prints the managed heap after a full, compacting collection
// (benchmarks/e2e/idle-memory.sh reads it; RSS it reads from /proc itself).
void ReportMemory(PosixSignalContext context)
{
    context.Cancel = true;
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    GC.WaitForPendingFinalizers();
    GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
    var info = GC.GetGCMemoryInfo();
    Console.WriteLine(FormattableString.Invariant(
        $"memory managed={GC.GetTotalMemory(forceFullCollection: false)} committed={info.TotalCommittedBytes}"));
}

void Stop(PosixSignalContext context)
{
    context.Cancel = true;
    stop.TrySetResult();
}
