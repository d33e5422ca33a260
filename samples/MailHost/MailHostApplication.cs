using System.CommandLine;
using System.Net.Sockets;
using System.Runtime.InteropServices;
using Mail.Protocols.Hosting;
using Mail.Protocols.PostgreSql.Hosting;
using Mail.Protocols.RateLimits;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Configuration.Memory;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using OpenTelemetry.Trace;

namespace MailHostSample;

/// <summary>What the sample itself does, beside the library's settings (<c>MailHost</c> in appsettings.json).</summary>
internal sealed class SampleSettings
{
    /// <summary>Deliver mail for other domains; false keeps it in the queue.</summary>
    public bool DeliverOutbound { get; set; } = true;

    /// <summary>Messages one authenticated user may submit per hour; 0: no limit.</summary>
    public int MessagesPerUserPerHour { get; set; } = 1000;

    /// <summary>Print a line for every message that lands in a mailbox.</summary>
    public bool PrintDeliveries { get; set; } = true;

    /// <summary>
    /// Export the servers' metrics and spans with OpenTelemetry: <c>none</c>, <c>console</c> (printed to standard output), or
    /// <c>otlp</c> (to the collector that <c>OTEL_EXPORTER_OTLP_ENDPOINT</c> names, by default http://localhost:4317).
    /// </summary>
    public string OpenTelemetry { get; set; } = "none";
}

/// <summary>Builds the host from the configuration and the flags, starts it, and waits for the signal to stop.</summary>
internal static class MailHostApplication
{
    public static async Task<int> RunAsync(CommandLineFlags flags, ParseResult parsed)
    {
        if (flags.IsRedacting(parsed))
        {
            // Before anything logs: the switch is read once.
            AppContext.SetSwitch(Mail.Protocols.Telemetry.PersonalData.RedactSwitch, true);
        }
        // appsettings.json beside the program, wherever it is started from.
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory, ApplicationName = "MailHost" });
        SampleSettings sample;
        try
        {
            var (settings, replacedLists) = flags.ToSettings(parsed, builder.Configuration);
            AddOnTop(builder.Configuration, settings, replacedLists);
            AddPostmasterDefault(builder.Configuration);
            sample = builder.Configuration.GetSection("MailHost").Get<SampleSettings>(binder => binder.ErrorOnUnknownConfiguration = true) ?? new();
            if (sample.MessagesPerUserPerHour < 0)
            {
                throw new FormatException("MailHost:MessagesPerUserPerHour: must be 0 (no limit) or more.");
            }
            if (sample.OpenTelemetry is not ("none" or "console" or "otlp"))
            {
                throw new FormatException($"MailHost:OpenTelemetry: expected none, console or otlp, got '{sample.OpenTelemetry}'.");
            }
        }
        catch (Exception mistake) when (mistake is FormatException or InvalidOperationException)
        {
            Console.Error.WriteLine($"error: {mistake.Message}");
            return 2;
        }
        builder.Logging.ClearProviders();
        builder.Logging.AddSimpleConsole(console => console.SingleLine = true);
        // A failed start is told below, one line per cause; the host's own report of it (a stack trace) is left out.
        var started = false;
        builder.Logging.AddFilter("Microsoft.Extensions.Hosting.Internal.Host", level => level >= LogLevel.Warning && Volatile.Read(ref started));
        AddMailServices(builder.Services, builder.Configuration, sample);
        AddOpenTelemetry(builder.Services, sample.OpenTelemetry);

        using var host = builder.Build();
        try
        {
            await host.StartAsync().ConfigureAwait(false);
        }
        catch (Exception failure) when (Failures(failure) is { Count: > 0 } failures)
        {
            // A setting at fault (named by its path), a port in use: one line each, not a stack trace.
            failures.ForEach(line => Console.Error.WriteLine($"error: {line}"));
            return 1;
        }
        Volatile.Write(ref started, true);
        StartupBanner.Print(host.Services, builder.Configuration, sample);
        using var onHangup = PosixSignalRegistration.Create(PosixSignal.SIGHUP, ReportMemory);
        await host.WaitForShutdownAsync().ConfigureAwait(false);
        return 0;
    }

    // The sample's composition: the backends, then the servers and the agent, all from configuration.
    private static void AddMailServices(IServiceCollection services, IConfiguration configuration, SampleSettings sample)
    {
        var mail = configuration.GetSection("Mail");
        // Durable backends when a path is given: Maildir++ mailboxes and a queue directory that survive restarts and crashes.
        if (!string.IsNullOrEmpty(mail["Maildir:RootPath"]))
        {
            services.AddMaildirStore(mail.GetSection("Maildir"));
        }
        if (!string.IsNullOrEmpty(mail["QueueDirectory:Path"]))
        {
            services.AddFileMessageQueue(mail.GetSection("QueueDirectory"));
        }
        // Mailboxes, the outbound queue or both in PostgreSQL (--store/--queue postgres:CONNSTRING): several hosts on one
        // database serve the same mailboxes and drain one queue. The schema is brought up to date before the servers start.
        if (mail["PostgreSql:ConnectionString"] is { Length: > 0 } connectionString)
        {
            var backends = (mail.GetValue<bool>("PostgreSql:MailboxStore") ? PostgreSqlMailBackends.MailboxStore : PostgreSqlMailBackends.None)
                | (mail.GetValue<bool>("PostgreSql:MessageQueue") ? PostgreSqlMailBackends.MessageQueue : PostgreSqlMailBackends.None);
            services.AddPostgreSqlMailBackends(connectionString, backends);
        }
        services.AddInMemoryUsers(mail.GetSection("Users")).AddInMemoryMailBackends().AddMailAddressBook(mail.GetSection("AddressBook"));
        if (!string.IsNullOrEmpty(mail["SenderRewriting:Domain"]))
        {
            services.AddSenderRewriting(mail.GetSection("SenderRewriting"));
        }
        // The rate limits every server shares, with the sample's limit on submissions per user.
        services.AddSingleton(provider => new SessionRateLimits(
            new SessionRateLimitOptions { MessagesPerUser = sample.MessagesPerUserPerHour == 0 ? null : new RateLimit(sample.MessagesPerUserPerHour, TimeSpan.FromHours(1)) },
            provider.GetService<TimeProvider>()));
        services.AddRecipientPolicy(mail.GetSection("Policy"))
            .AddMailTls(mail.GetSection("Tls"))
            .AddSmtpServer(mail.GetSection("Smtp"))
            .AddPop3Server(mail.GetSection("Pop3"))
            .AddImapServer(mail.GetSection("Imap"));
        if (sample.DeliverOutbound)
        {
            services.AddMailDelivery(mail.GetSection("Delivery"));
        }
        if (sample.PrintDeliveries)
        {
            services.AddHostedService<DeliveryPrinter>();
        }
    }

    // The flags' settings on top of appsettings.json and the environment. A list a flag gives replaces the list below it
    // (configuration layers merge lists item by item, so --user bob would otherwise keep alice as a second user): the
    // layers below are read once, without those lists, into one layer.
    internal static void AddOnTop(IConfigurationManager configuration, Dictionary<string, string?> settings, List<string> replacedLists)
    {
        if (replacedLists.Count > 0)
        {
            static bool Under(string key, string list) =>
                key.Equals(list, StringComparison.OrdinalIgnoreCase) || key.StartsWith(list + ":", StringComparison.OrdinalIgnoreCase);
            // Keys without a value stay: they are the empty lists ("FoldersAtLogin": [] means none).
            var below = ((IConfiguration)configuration).AsEnumerable()
                .Where(pair => !replacedLists.Any(list => Under(pair.Key, list)))
                .ToList();
            configuration.Sources.Clear();
            configuration.Sources.Add(new MemoryConfigurationSource { InitialData = below });
        }
        configuration.Sources.Add(new MemoryConfigurationSource { InitialData = settings });
    }

    // The postmaster is the first user unless configuration names one, as the sample has always done: the first account,
    // else the first of the users file (a file that cannot be read is reported by the users' own check).
    private static void AddPostmasterDefault(IConfigurationManager configuration)
    {
        var config = (IConfiguration)configuration;
        if (!string.IsNullOrEmpty(config["Mail:Policy:PostmasterLogin"]))
        {
            return;
        }
        var first = config["Mail:Users:Accounts:0:Address"];
        if (string.IsNullOrEmpty(first) && config["Mail:Users:File"] is { Length: > 0 } file && File.Exists(file))
        {
            var line = File.ReadLines(file).Select(line => line.Trim()).FirstOrDefault(line => line.Length > 0 && !line.StartsWith('#'));
            var colon = line?.IndexOf(':', StringComparison.Ordinal) ?? -1;
            first = colon > 0 ? line![..colon] : null;
        }
        if (!string.IsNullOrEmpty(first))
        {
            configuration.Sources.Add(new MemoryConfigurationSource { InitialData = [new("Mail:Policy:PostmasterLogin", first)] });
        }
    }

    private static List<string> Failures(Exception failure) => failure switch
    {
        AggregateException aggregate => [.. aggregate.InnerExceptions.SelectMany(Failures)],
        OptionsValidationException validation => [.. validation.Failures],
        SocketException socket => [$"cannot listen: {socket.Message} ({socket.SocketErrorCode}); choose other ports (--smtp, --pop3, --imap and the rest, 0 to turn one off)"],
        _ => [],
    };

    // SIGHUP prints the managed heap after a full, compacting collection
    // (benchmarks/e2e/idle-memory.sh reads it; RSS it reads from /proc itself).
    private static void ReportMemory(PosixSignalContext context)
    {
        context.Cancel = true;
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        GC.WaitForPendingFinalizers();
        GC.Collect(GC.MaxGeneration, GCCollectionMode.Forced, blocking: true, compacting: true);
        var info = GC.GetGCMemoryInfo();
        Console.WriteLine(FormattableString.Invariant(
            $"memory managed={GC.GetTotalMemory(forceFullCollection: false)} committed={info.TotalCommittedBytes}"));
    }

    // The library's meters and activity sources, by the names it publishes (MailMeters, MailActivitySources), to the
    // exporter chosen; the servers' instruments come from the host's IMeterFactory, which OpenTelemetry listens to by name.
    private static void AddOpenTelemetry(IServiceCollection services, string exporter)
    {
        if (exporter == "none")
        {
            return;
        }
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("MailHost"))
            .WithMetrics(metrics =>
            {
                metrics.AddMeter([.. Mail.Protocols.Telemetry.MailMeters.All]);
                if (exporter == "console")
                {
                    metrics.AddConsoleExporter();
                }
                else
                {
                    metrics.AddOtlpExporter();
                }
            })
            .WithTracing(tracing =>
            {
                tracing.AddSource([.. Mail.Protocols.Telemetry.MailActivitySources.All]);
                if (exporter == "console")
                {
                    tracing.AddConsoleExporter();
                }
                else
                {
                    tracing.AddOtlpExporter();
                }
            });
    }
}
