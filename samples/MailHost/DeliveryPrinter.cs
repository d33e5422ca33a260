using Mail.Protocols.InMemory;
using Mail.Protocols.Storage;
using Microsoft.Extensions.Hosting;

namespace MailHostSample;

/// <summary>Prints one line for every message that lands in a user's mailbox, reading the change queues as a session would.</summary>
internal sealed class DeliveryPrinter(IMailboxStore store, InMemoryUserDirectory users) : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var subscriptions = users.Users.Select(user => store.Subscribe(user.Login)).ToList();
        try
        {
            await Task.WhenAll(subscriptions.Select(subscription => PrintAsync(subscription, stoppingToken))).ConfigureAwait(false);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // stopping
        }
        finally
        {
            subscriptions.ForEach(subscription => subscription.Dispose());
        }
    }

    private static async Task PrintAsync(MailboxSubscription subscription, CancellationToken cancellationToken)
    {
        while (await subscription.WaitToReadAsync(cancellationToken).ConfigureAwait(false))
        {
            while (subscription.TryRead(out var batch))
            {
                foreach (var change in batch.Changes)
                {
                    if (change.Kind == MailboxChangeKind.MessageAdded && change.Message is { } message)
                    {
                        Console.WriteLine($"delivered: {Mail.Protocols.Telemetry.PersonalData.ForLog(batch.User)} {change.Folder} uid {message.Uid} ({message.Size} octets)");
                    }
                }
            }
        }
    }
}
