using Mail.Protocols.Storage;

namespace MailHostSample;

/// <summary>Prints one line for every message that lands in a mailbox, reading the user's change queue as a session would.</summary>
internal static class DeliveryPrinter
{
    /// <summary>Runs until the subscription is disposed.</summary>
    public static async Task PrintAsync(MailboxSubscription subscription, bool quiet)
    {
        while (await subscription.WaitToReadAsync().ConfigureAwait(false))
        {
            while (subscription.TryRead(out var batch))
            {
                foreach (var change in batch.Changes)
                {
                    if (!quiet && change.Kind == MailboxChangeKind.MessageAdded && change.Message is { } message)
                    {
                        Console.WriteLine($"delivered: {batch.User} {change.Folder} uid {message.Uid} ({message.Size} octets)");
                    }
                }
            }
        }
    }
}
