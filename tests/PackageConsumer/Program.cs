// Built only from the packages in tests/LocalFeed: if this compiles and runs, the packages work.
Console.WriteLine($"Mail.Protocols consumer: core assembly {typeof(Mail.Protocols.Storage.IMailboxStore).Assembly.GetName().Version}");
return 0;
