# Sidekiq (Debian's ruby-sidekiq) driven as its users drive it: jobs pushed by a client and
# worked by `sidekiq` processes, scheduled jobs, retries, a job that dies, and the API
# (queues, retry, scheduled and dead sets, stats).
#
# Usage: ruby sidekiq_jobs.rb HOST:PORT [all|before|after]. Prints one observation per line;
# exits non-zero when Sidekiq broke one of its promises. Phase "before" pushes the jobs and lets
# a worker do some; "after" (possibly after a server restart) works the rest and checks that
# none was lost. The same file is what the `sidekiq` processes it starts load (-r).
require "sidekiq"
require "sidekiq/api"

# Workers find results in Redis: Sidekiq keeps none of its own.
class SumJob
  include Sidekiq::Worker

  def perform(id, a, b)
    Sidekiq.redis do |redis|
      redis.hset("app:sums", id, a + b)
      redis.rpush("app:done", id)
    end
  end
end

class FlakyJob
  include Sidekiq::Worker
  sidekiq_options retry: 3
  sidekiq_retry_in { |_count| 1 } # seconds; 0 would mean the default backoff

  def perform(key)
    attempts = Sidekiq.redis { |redis| redis.incr(key) }
    raise "attempt #{attempts} fails" if attempts < 3

    Sidekiq.redis { |redis| redis.set("app:flaky-result", "succeeded on attempt #{attempts}") }
  end
end

class DoomedJob
  include Sidekiq::Worker
  sidekiq_options retry: 1
  sidekiq_retry_in { |_count| 1 } # seconds; 0 would mean the default backoff

  def perform
    raise ArgumentError, "doomed to fail"
  end
end

Sidekiq.configure_server do |config|
  # Scheduled jobs and retries are looked for about twice a second rather than every 5 s.
  config.options[:poll_interval_average] = 0.5
end

JOBS = 200

def say(*parts)
  puts parts.join(" ")
  $stdout.flush
end

def check(condition, what)
  return if condition

  say("BROKEN", what)
  exit 1
end

def until_true(what, seconds = 30)
  deadline = Time.now + seconds
  until yield
    check(Time.now < deadline, "timed out waiting for #{what}")
    sleep 0.05
  end
end

def start_worker(url)
  spawn({ "REDIS_URL" => url }, "sidekiq", "-r", File.expand_path(__FILE__), "-c", "5",
        "-q", "default,2", "-q", "low", "-t", "5", out: $stderr, err: $stderr)
end

def stop_worker(pid)
  Process.kill("TERM", pid)
  Process.wait(pid)
end

def done_count
  Sidekiq.redis { |redis| redis.hlen("app:sums") }
end

def before(url)
  Sidekiq::Client.push_bulk("class" => SumJob, "args" => (0...JOBS).map { |i| ["job-#{i}", i, 1000] })
  SumJob.set(queue: "low").perform_async("low-job", 1, 2)
  SumJob.perform_in(1, "scheduled-job", 3, 4)
  FlakyJob.perform_async("app:flaky")
  DoomedJob.perform_async
  say("enqueued", Sidekiq::Queue.new("default").size, "low", Sidekiq::Queue.new("low").size,
      "scheduled", Sidekiq::ScheduledSet.new.size)
  worker = start_worker(url)
  until_true("50 jobs") { done_count >= 50 }
  stop_worker(worker)
  say("some done before stopping", done_count >= 50)
end

def after(url)
  worker = start_worker(url)
  until_true("every job") { done_count == JOBS + 2 }
  until_true("the flaky job") { Sidekiq.redis { |redis| redis.get("app:flaky-result") } }
  until_true("the dead job") { Sidekiq::DeadSet.new.size == 1 }
  sums = Sidekiq.redis { |redis| redis.hgetall("app:sums") }
  say("results", (0...JOBS).all? { |i| sums["job-#{i}"] == (i + 1000).to_s }, sums["low-job"],
      sums["scheduled-job"])
  say("flaky", Sidekiq.redis { |redis| redis.get("app:flaky-result") })
  dead = Sidekiq::DeadSet.new.first
  say("dead", dead.klass, dead["error_class"], dead["error_message"], dead["retry_count"])
  say("queues", Sidekiq::Queue.all.map { |q| [q.name, q.size] }.sort.inspect,
      "retry", Sidekiq::RetrySet.new.size, "scheduled", Sidekiq::ScheduledSet.new.size)
  # A process adds its counts to the stats every few seconds and when it stops.
  stop_worker(worker)
  stats = Sidekiq::Stats.new
  say("stats counted every job", stats.processed >= JOBS + 2, stats.failed >= 4)
  dead.retry
  say("dead job retried", Sidekiq::DeadSet.new.size, Sidekiq::Queue.new("default").size)
end

if __FILE__ == $PROGRAM_NAME
  url = "redis://#{ARGV[0]}/0"
  phase = ARGV[1] || "all"
  Sidekiq.configure_client { |config| config.redis = { url: url } }
  Sidekiq.redis(&:flushall) unless phase == "after"
  before(url) unless phase == "after"
  after(url) unless phase == "before"
end
