using Mail.Protocols.Maildir.Layout;

namespace Mail.Protocols.Fuzz.Targets.Storage;

/// <summary>
/// The "subscriptions" file Dovecot and this store share (<see cref="SubscriptionFile.Read"/>). Properties: reading never throws;
/// the names come sorted without duplicates, each a folder name this store could have: not empty, no empty level, no control
/// character (such lines are kept in the file but not listed); subscribing a listed name again lists the same names, and
/// unsubscribing then subscribing it too.
/// </summary>
internal sealed class SubscriptionFileTarget : IFuzzTarget
{
    private const UnixFileMode Permissions = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    public string Name => "SubscriptionFile";

    public void Run(ReadOnlySpan<byte> input)
    {
        var directory = ScratchDirectory.Fresh(Name);
        var path = Path.Combine(directory, SubscriptionFile.FileName);
        File.WriteAllBytes(path, input.ToArray());
        var names = SubscriptionFile.Read(directory);
        for (var i = 0; i < names.Count; i++)
        {
            var name = names[i];
            Fuzz.Check(i == 0 || string.CompareOrdinal(names[i - 1], name) < 0, "names not sorted or repeated");
            Fuzz.Check(name.Length > 0 && !name.Split(FolderNames.Separator).Contains(""), $"\"{name}\" has an empty level");
            Fuzz.Check(!name.Any(char.IsControl), $"\"{name}\" has a control character");
        }

        if (names.Count == 0)
        {
            return;
        }

        var first = names[0];
        SubscriptionFile.Set(directory, first, subscribe: true, sync: false, Permissions);
        Fuzz.Check(SubscriptionFile.Read(directory).SequenceEqual(names), $"subscribing the listed \"{first}\" again changed the list");
        SubscriptionFile.Set(directory, first, subscribe: false, sync: false, Permissions);
        Fuzz.Check(!SubscriptionFile.Read(directory).Contains(first), $"\"{first}\" is still listed after unsubscribing");
        SubscriptionFile.Set(directory, first, subscribe: true, sync: false, Permissions);
        var again = SubscriptionFile.Read(directory);
        Fuzz.Check(again.SequenceEqual(names), $"unsubscribing and subscribing \"{first}\" changed the list to [{string.Join(", ", again)}]");
    }
}
