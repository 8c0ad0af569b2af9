import java.io.IOException;
import java.io.InputStream;
import java.lang.reflect.Field;
import java.net.InetAddress;
import org.eclipse.jetty.server.Connector;
import org.eclipse.jetty.server.Server;
import org.eclipse.jetty.server.ServerConnector;
import software.amazon.dynamodb.services.local.main.ServerRunner;
import software.amazon.dynamodb.services.local.server.DynamoDBProxyServer;

/**
 * DynamoDB Local as local/emulators.ts runs it: the jar's own server, with two changes.
 *
 * <p>1. It listens on the loopback address only. DynamoDBLocal.jar has no bind-address option (its
 * -help lists none) and builds its Jetty server with `new Server(port)`, which binds every
 * interface: anyone on the network could read and rewrite a developer's credential items. Jetty
 * reads no system property for the host either, so this sets it on the connector before the
 * server starts (the field is private: reflection). If the jar changes so that this no longer
 * applies, start-up fails rather than listening on every interface.
 *
 * <p>2. It exits when its parent does. The parent holds the write end of this process's stdin and
 * never writes; when the parent exits, however it exits (kill -9 included), the pipe closes and the
 * read below returns end-of-file.
 *
 * <p>Once it listens it prints one line, `listening on HOST:PORT`, that the parent waits for.
 */
public final class LoopbackDynamoDbLocal {
  private LoopbackDynamoDbLocal() {}

  public static void main(String[] args) throws Exception {
    Thread parentWatch = new Thread(LoopbackDynamoDbLocal::exitWhenStdinCloses, "parent-watch");
    parentWatch.setDaemon(true);
    parentWatch.start();

    DynamoDBProxyServer proxy = ServerRunner.createServerFromCommandLineArgs(args);
    Field serverField = DynamoDBProxyServer.class.getDeclaredField("server");
    serverField.setAccessible(true);
    Server server = (Server) serverField.get(proxy);
    String loopback = InetAddress.getLoopbackAddress().getHostAddress();
    Connector[] connectors = server.getConnectors();
    if (connectors.length == 0) throw new IllegalStateException("DynamoDB Local has no connector");
    for (Connector connector : connectors) {
      if (!(connector instanceof ServerConnector)) {
        throw new IllegalStateException("unexpected connector " + connector.getClass().getName());
      }
      ((ServerConnector) connector).setHost(loopback);
    }
    // safeStart: the jar's start() reports a port in use on stderr and carries on; this throws.
    proxy.safeStart();
    for (Connector connector : connectors) {
      ServerConnector bound = (ServerConnector) connector;
      System.out.println("listening on " + bound.getHost() + ":" + bound.getLocalPort());
    }
    System.out.flush();
    proxy.join();
  }

  private static void exitWhenStdinCloses() {
    InputStream in = System.in;
    byte[] buffer = new byte[64];
    try {
      while (in.read(buffer) != -1) {
        // The parent never writes; anything read is ignored.
      }
    } catch (IOException error) {
      // A broken pipe means the same: the parent is gone.
    }
    System.exit(0);
  }
}
