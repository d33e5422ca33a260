// The SmtpServer NuGet package run as a peer for benchmarks/e2e/smtp-load.sh.
//
// It does the same kind of work as samples/MailHost does with mail for a local user: accept any
// recipient, keep each message's bytes in memory, and bound the memory by dropping the oldest
// messages beyond --keep (default 10,000).
//
// Usage: SmtpServerPeer --port 2526 [--keep 10000]
//
// Prints "ready 127.0.0.1:PORT" once the listener is bound. On SIGHUP it prints
// "stats messages=N bytes=B kept=K" and keeps running; on SIGTERM or Ctrl+C it prints the same line
// and exits.

using System.Buffers;
using System.Collections.Concurrent;
using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using SmtpServer;
using SmtpServer.ComponentModel;
using SmtpServer.Net;
using SmtpServer.Protocol;
using SmtpServer.Storage;

var port = 2526;
var keep = 10_000;
for (var i = 0; i < args.Length; i++)
{
    switch (args[i])
    {
        case "--port" when i + 1 < args.Length:
            port = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        case "--keep" when i + 1 < args.Length:
            keep = int.Parse(args[++i], CultureInfo.InvariantCulture);
            break;
        default:
            Console.Error.WriteLine("usage: SmtpServerPeer --port PORT [--keep MESSAGES]");
            return 2;
    }
}

var store = new InMemoryMessageStore(keep);

var listenerFactory = new EndpointListenerFactory();
listenerFactory.EndpointStarted += (_, e) => Console.WriteLine($"ready {e.LocalEndPoint}");

var options = new SmtpServerOptionsBuilder()
    .ServerName("peer.example.test")
    .Endpoint(builder => builder.Endpoint(new IPEndPoint(IPAddress.Loopback, port)))
    .Build();

var services = new SmtpServer.ComponentModel.ServiceProvider();
services.Add(store);
services.Add(listenerFactory);

using var stop = new CancellationTokenSource();

void PrintStats() => Console.WriteLine(
    $"stats messages={store.Messages} bytes={store.Bytes} kept={store.Kept}");

using var onHup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
{
    context.Cancel = true;
    PrintStats();
});
using var onTerm = PosixSignalRegistration.Create(PosixSignal.SIGTERM, context =>
{
    context.Cancel = true;
    stop.Cancel();
});
using var onInt = PosixSignalRegistration.Create(PosixSignal.SIGINT, context =>
{
    context.Cancel = true;
    stop.Cancel();
});

var server = new SmtpServer.SmtpServer(options, services);
try
{
    await server.StartAsync(stop.Token);
}
catch (OperationCanceledException) when (stop.IsCancellationRequested)
{
}

PrintStats();
return 0;

/// <summary>Keeps every message's bytes in a bounded in-memory queue and counts them.</summary>
sealed class InMemoryMessageStore(int keep) : MessageStore
{
    private readonly ConcurrentQueue<byte[]> _messages = new();
    private long _count;
    private long _bytes;

    public long Messages => Interlocked.Read(ref _count);

    public long Bytes => Interlocked.Read(ref _bytes);

    public int Kept => _messages.Count;

    public override Task<SmtpResponse> SaveAsync(
        ISessionContext context,
        IMessageTransaction transaction,
        ReadOnlySequence<byte> buffer,
        CancellationToken cancellationToken)
    {
        _messages.Enqueue(buffer.ToArray());
        while (_messages.Count > keep && _messages.TryDequeue(out _))
        {
        }

        Interlocked.Increment(ref _count);
        Interlocked.Add(ref _bytes, buffer.Length);
        return Task.FromResult(SmtpResponse.Ok);
    }
}
